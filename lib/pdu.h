/*
 * pdu: the RNASP and RNAQP PDUs of PROTOCOL.md section 3, decoded from
 * and encoded to DER.
 *
 * Decoding never allocates and never copies: every string, domain and list
 * in the structs points into the caller's PDU octets, which must outlive
 * them. A decoder validates the whole PDU (every rule of section 2 and
 * every limit) before it returns PDU_OK; the lists it returns can then be
 * walked with pdu_next_*(), which cannot fail on a validated list.
 *
 * Nesting is fixed by the module; the decoders are straight-line code per
 * level, so there is no recursion on input-controlled depth.
 *
 * Encoding appends to a struct der_w (der.h) and reports failure through
 * w->err.
 */
#ifndef RNA_PDU_H
#define RNA_PDU_H

#include <stddef.h>
#include <stdint.h>

#include "der.h"

enum pdu_proto { PDU_RNASP = 1, PDU_RNAQP = 2 };

/* ResponseStatus values (section 3). */
#define PDU_S_NOERROR 0
#define PDU_S_MALFORMED 1
#define PDU_S_TIMEOUT 2
#define PDU_S_NOTAUTH 3
#define PDU_S_UNEXPECTED 4
#define PDU_S_SHUTDOWN 5
#define PDU_S_INTERNAL 6
#define PDU_S_AUTHFAILED 7 /* RNAQP only */
#define PDU_S_QUOTA 9      /* RNASP, this profile's extension */
#define PDU_S_NOSUCHMAILBOX 10

/* Limits of section 2, enforced as malformed input. */
#define PDU_MAX_LOCALPART 255
#define PDU_MAX_SENDER 1024
#define PDU_MAX_ACCOUNT 64
#define PDU_MAX_PASSWORD 1024
#define PDU_MAX_LITERALS 16
#define PDU_MAX_NOTIFS 1000 /* per CommandNotify */
#define PDU_MAX_LABEL 63
#define PDU_MAX_LABELS 127
#define PDU_MAX_DOMAIN_TEXT 253 /* written with dots */
/* Octets of a DomainName's contents at most: 127 labels of 2 header
 * octets, plus the text without its dots. */
#define PDU_DOMAIN_DER_MAX (2 * PDU_MAX_LABELS + PDU_MAX_DOMAIN_TEXT)
#define PDU_ID_LEN 16

/* Results of the decoders. */
#define PDU_OK 0
#define PDU_MALFORMED (-1)   /* does not parse, or breaks a rule */
#define PDU_NOTCOMMAND (-2)  /* a response PDU where a command was due */
#define PDU_UNKNOWNCMD (-3)  /* well-formed command, alternative unknown */
#define PDU_NOTRESPONSE (-4) /* a command PDU where a response was due */

struct pdu_str {
    const unsigned char *p;
    size_t len;
};

/* DomainName: the contents octets of its SEQUENCE OF, i.e. a run of
 * nlabels label TLVs (16 LL ...), already validated. */
struct pdu_domain {
    const unsigned char *p;
    size_t len;
    unsigned nlabels;
};

/* IPAddressAndPort, and the address + port of a ClientLocation. */
struct pdu_ipport {
    unsigned char v6;     /* 0: version4 (ip[0..3]), 1: version6 */
    unsigned char ip[16];
    uint16_t port;
};

#define PDU_LOC_NONE 0 /* only for the optional storessl */
#define PDU_LOC_LITERALS 1
#define PDU_LOC_DOMAIN 2

struct pdu_loc {
    unsigned char kind;
    unsigned nlit;
    struct pdu_ipport lit[PDU_MAX_LITERALS];
    struct pdu_domain domain;
};

struct pdu_notif {
    struct pdu_loc clear;
    struct pdu_loc ssl; /* kind PDU_LOC_NONE when absent */
    struct pdu_str localpart;
    struct pdu_domain rdomain;
    unsigned char id[PDU_ID_LEN];
    struct pdu_str sender;
    unsigned char has_size;
    uint64_t size;
};

/* ClientLocation */
struct pdu_client {
    struct pdu_ipport addr;
    unsigned char has_domain;
    struct pdu_domain domain;
};

/* NotificationAndLocalData */
struct pdu_nald {
    struct pdu_notif n;
    struct pdu_client submitter;
    uint64_t date;
};

/* The contents of a validated SEQUENCE OF, and how many elements. */
struct pdu_list {
    const unsigned char *p;
    size_t len;
    size_t count;
};

enum pdu_kind {
    PDU_CMD_NOTIFY = 1,  /* RNASP commanddata [0] */
    PDU_CMD_AUTH,        /* RNAQP commanddata [0] */
    PDU_CMD_RETRIEVE,    /* RNAQP commanddata [1] */
    PDU_RESP_NULL,       /* responsedata [0] */
    PDU_RESP_NOTIFY,     /* RNASP responsedata [1] */
    PDU_RESP_AUTH,       /* RNAQP responsedata [1] */
    PDU_RESP_RETRIEVE    /* RNAQP responsedata [2] */
};

struct pdu {
    enum pdu_kind kind;
    uint32_t alt;          /* commanddata alternative (set for UNKNOWNCMD too) */
    /* responses */
    int forceabort;
    uint32_t status;
    /* PDU_CMD_NOTIFY: Notifications; PDU_RESP_RETRIEVE: NALDs;
     * PDU_RESP_NOTIFY: rejected INTEGERs (if has_rejected) */
    struct pdu_list list;
    int has_rejected;
    /* PDU_CMD_AUTH */
    struct pdu_str account;
    struct pdu_str password;
};

/* Decode one PDU (the octets inside a frame). *out is written only on
 * PDU_OK, except that out->alt is set on PDU_UNKNOWNCMD. */
int pdu_decode_command(enum pdu_proto proto, const unsigned char *p,
                       size_t len, struct pdu *out);
int pdu_decode_response(enum pdu_proto proto, const unsigned char *p,
                        size_t len, struct pdu *out);

/* Walk a validated list. 1: got one; 0: end of list; -1: malformed (only
 * on a list that did not come from a decoder). */
struct pdu_iter {
    struct der_cur c;
};
void pdu_iter_init(struct pdu_iter *it, const struct pdu_list *l);
int pdu_next_notif(struct pdu_iter *it, struct pdu_notif *n);
int pdu_next_nald(struct pdu_iter *it, struct pdu_nald *x);
int pdu_next_uint(struct pdu_iter *it, uint64_t *v);

/* Decode a single Notification or NotificationAndLocalData from its
 * complete TLV (tag 30), with every check. Used by the store, which keeps
 * notifications in their DER form. */
int pdu_decode_notif(const unsigned char *p, size_t len, struct pdu_notif *n);
int pdu_decode_nald(const unsigned char *p, size_t len, struct pdu_nald *x);

/* ---- validation helpers (also for text input) ---- */

/* Valid UTF-8 without C0 controls or DEL (section 2). */
int pdu_utf8_ok(const unsigned char *p, size_t len);
/* Account name: 1..64 octets of [A-Za-z0-9._-]. */
int pdu_account_ok(const unsigned char *p, size_t len);
/* Build a DomainName's contents from dotted text ("mail.example.org")
 * into buf (at least PDU_DOMAIN_DER_MAX octets). -1 (EINVAL) if the
 * text breaks a rule of section 2; labels cannot contain dots this way. */
int pdu_domain_from_text(unsigned char *buf, size_t cap, const char *text,
                         size_t tlen, struct pdu_domain *out);
/* Write the labels joined by dots (no escaping, no NUL) into out, which
 * must hold PDU_MAX_DOMAIN_TEXT octets; returns the length. With lower
 * set, ASCII letters are folded to lower case. */
size_t pdu_domain_text(const struct pdu_domain *d, char *out, int lower);
/* Label i (0-based) of a validated domain. */
struct pdu_str pdu_domain_label(const struct pdu_domain *d, unsigned i);
/* Case-insensitive (ASCII) equality of two domains. */
int pdu_domain_eq(const struct pdu_domain *a, const struct pdu_domain *b);
int pdu_loc_eq(const struct pdu_loc *a, const struct pdu_loc *b);

/* ---- encoding ---- */

void pdu_put_notif(struct der_w *w, const struct pdu_notif *n);
void pdu_put_nald(struct der_w *w, const struct pdu_nald *x);
/* The submitter element of a NotificationAndLocalData: [1] IMPLICIT
 * ClientLocation, tag and all. */
void pdu_put_submitter(struct der_w *w, const struct pdu_client *c);

void pdu_enc_cmd_notify_begin(struct der_w *w);
void pdu_enc_cmd_notify_end(struct der_w *w);
void pdu_enc_cmd_auth(struct der_w *w, const struct pdu_str *account,
                      const struct pdu_str *password);
void pdu_enc_cmd_retrieve(struct der_w *w);

/* Responses. alt is the responsedata alternative: 0 ResponseNull, 1
 * ResponseNotify (RNASP) or ResponseAuthenticate (RNAQP), 2
 * ResponseRetrieveAndClear. */
void pdu_enc_resp_empty(struct der_w *w, int forceabort, uint32_t status,
                        unsigned alt);
/* ResponseNotify; rejected == NULL leaves the element out. */
void pdu_enc_resp_notify(struct der_w *w, int forceabort, uint32_t status,
                         const uint32_t *rejected, size_t nrejected);
void pdu_enc_resp_retrieve_begin(struct der_w *w, int forceabort,
                                 uint32_t status);
void pdu_enc_resp_retrieve_end(struct der_w *w);

/* Re-encode any decoded PDU (unknown extension elements are dropped). */
void pdu_encode(struct der_w *w, const struct pdu *m);

const char *pdu_status_name(enum pdu_proto proto, uint32_t status);

#endif
