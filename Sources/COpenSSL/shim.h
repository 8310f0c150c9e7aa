// The system's OpenSSL (Debian's libssl-dev), for lockd's TLS and the auth
// file's SHA-256 digests. OpenSSL
// spells several calls as macros, which Swift cannot import: they are
// wrapped here as functions, and the ALPN choice is a C callback.
#ifndef LOCKD_COPENSSL_SHIM_H
#define LOCKD_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

static inline long lockd_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline long lockd_ssl_ctx_set_partial_writes(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

/* Frees a connection's record buffers while it idles (about 34 KiB each), and
   sends the configured chain as it is rather than building one from the
   trust store at every handshake (what nginx does too). */
static inline long lockd_ssl_ctx_set_server_modes(SSL_CTX *context) {
    return SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
}

/* Resumption through session tickets only: no server-side session store,
   which would grow to 20 480 sessions and be swept under a lock every 255
   handshakes (nginx's default, "ssl_session_cache none", does the same). */
static inline void lockd_ssl_ctx_use_tickets_only(SSL_CTX *context) {
    SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_cache_size(context, 1);
}

/* No renegotiation (a client-driven CPU sink), and the server picks the cipher. */
static inline uint64_t lockd_ssl_ctx_set_server_options(SSL_CTX *context) {
    return SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}

static inline long lockd_ssl_set_server_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

static inline long lockd_bio_set_mem_eof_return(BIO *bio, int value) {
    return BIO_set_mem_eof_return(bio, value);
}

/* ALPN: HTTP/1.1 is the only protocol lockd speaks. */
static const unsigned char lockd_alpn_http11[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

/* A client that offers ALPN without http/1.1 gets the no_application_protocol alert (RFC 7301). */
static inline int lockd_alpn_select_http11(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                           const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, lockd_alpn_http11, sizeof lockd_alpn_http11, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

static inline void lockd_ssl_ctx_select_http11(SSL_CTX *context) {
    SSL_CTX_set_alpn_select_cb(context, lockd_alpn_select_http11, NULL);
}

static inline int lockd_ssl_ctx_offer_protocols(SSL_CTX *context, const unsigned char *protocols, unsigned int length) {
    return SSL_CTX_set_alpn_protos(context, protocols, length);
}

#endif
