/*
 * libFuzzer target: pdu_decode_command(PDU_RNASP, ...) on the octets of one
 * frame's body (RNASP command), with the round-trip oracle of fuzz.h.
 * Seeds: fuzz/corpus/command_rnasp/.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_pdu(1, PDU_RNASP, data, size);
    return 0;
}
