/*
 * libFuzzer target: pdu_decode_command(PDU_RNAQP, ...) on the octets of one
 * frame's body (RNAQP command), with the round-trip oracle of fuzz.h.
 * Seeds: fuzz/corpus/command_rnaqp/.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_pdu(1, PDU_RNAQP, data, size);
    return 0;
}
