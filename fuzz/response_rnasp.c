/*
 * libFuzzer target: pdu_decode_response(PDU_RNASP, ...) on the octets of one
 * frame's body (RNASP response), with the round-trip oracle of fuzz.h.
 * Seeds: fuzz/corpus/response_rnasp/.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_pdu(0, PDU_RNASP, data, size);
    return 0;
}
