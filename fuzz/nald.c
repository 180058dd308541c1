/*
 * libFuzzer target: pdu_decode_nald and pdu_decode_notif (the store keeps
 * notifications in their DER form and decodes them again), each with the
 * round-trip oracle: re-encode, decode again, equal fields, same octets.
 * Seeds: fuzz/corpus/nald/ (NALDs and Notifications from the vectors).
 */
#include "fuzz.h"

static void nald(const uint8_t *data, size_t size)
{
    struct pdu_nald x, y;
    struct der_w w1, w2;

    if (pdu_decode_nald(data, size, &x) != PDU_OK) return;
    fz_notif_check(&x.n);
    if (x.submitter.has_domain) fz_domain_check(&x.submitter.domain);
    der_w_growing(&w1, FUZZ_WMAX);
    der_w_growing(&w2, FUZZ_WMAX);
    pdu_put_nald(&w1, &x);
    if (w1.err || w1.depth || w1.len > size) abort();
    if (w1.len == size && memcmp(w1.buf, data, size) != 0) abort();
    if (pdu_decode_nald(w1.buf, w1.len, &y) != PDU_OK) abort();
    if (!fz_nald_eq(&x, &y)) abort();
    pdu_put_nald(&w2, &y);
    if (w2.err || w2.len != w1.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
        abort();
    der_w_free(&w1);
    der_w_free(&w2);
}

static void notif(const uint8_t *data, size_t size)
{
    struct pdu_notif x, y;
    struct der_w w1, w2;

    if (pdu_decode_notif(data, size, &x) != PDU_OK) return;
    fz_notif_check(&x);
    der_w_growing(&w1, FUZZ_WMAX);
    der_w_growing(&w2, FUZZ_WMAX);
    pdu_put_notif(&w1, &x);
    if (w1.err || w1.depth || w1.len > size) abort();
    if (w1.len == size && memcmp(w1.buf, data, size) != 0) abort();
    if (pdu_decode_notif(w1.buf, w1.len, &y) != PDU_OK) abort();
    if (!fz_notif_eq(&x, &y)) abort();
    pdu_put_notif(&w2, &y);
    if (w2.err || w2.len != w1.len || memcmp(w1.buf, w2.buf, w1.len) != 0)
        abort();
    der_w_free(&w1);
    der_w_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nald(data, size);
    notif(data, size);
    return 0;
}
