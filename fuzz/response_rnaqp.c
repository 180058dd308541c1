/*
 * libFuzzer target: pdu_decode_response(PDU_RNAQP, ...) on the octets of one
 * frame's body (RNAQP response), with the round-trip oracle of fuzz.h.
 * Seeds: fuzz/corpus/response_rnaqp/.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_pdu(0, PDU_RNAQP, data, size);
    return 0;
}
