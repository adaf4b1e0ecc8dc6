/* upstream: see upstream.h. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "log.h"
#include "upstream.h"
#include "util.h"

#define HDR_MAX 100		/* response headers kept per response */
#define HDR_BYTES_MAX 65536

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

struct upstream {
	CURL *h;
	void (*before_io)(void *ud);
	void *before_io_ud;
};

/* State of one transfer, shared by the libcurl callbacks. */
struct xfer {
	struct upstream *u;
	const struct upstream_request *rq;
	const struct upstream_sink *sink;
	void *ud;
	struct upstream_result *res;
	struct upstream_header hdrs[HDR_MAX];
	size_t nhdrs;
	size_t hdr_bytes;
	bool headers_done;
	bool too_large;
	int64_t last_tick;
};

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
	(void)h; (void)access; (void)ud;
	pthread_mutex_lock(&share_locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	(void)h; (void)ud;
	pthread_mutex_unlock(&share_locks[data]);
}

void
upstream_global_init(void)
{
	size_t i;

	curl_global_init(CURL_GLOBAL_ALL);
	for (i = 0; i < ARRAY_SIZE(share_locks); i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	/* Not the connection cache: libcurl does not support sharing
	 * connections between concurrent threads (CURLSHOPT_SHARE(3)), and
	 * with hundreds of threads doing so crashed a bench run. Each thread's
	 * handle keeps its own connections alive; threads are long-lived
	 * (server.c keeps idle ones), so a connection is still set up once per
	 * thread, not per request, and TLS resumes from the shared sessions. */
}

void
upstream_global_cleanup(void)
{
	if (share)
		curl_share_cleanup(share);
	share = NULL;
	curl_global_cleanup();
}

struct upstream *
upstream_new(void)
{
	struct upstream *u = xcalloc(1, sizeof(*u));

	u->h = curl_easy_init();
	if (u->h == NULL) {
		free(u);
		return NULL;
	}
	curl_easy_setopt(u->h, CURLOPT_SHARE, share);
	return u;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	curl_easy_cleanup(u->h);
	free(u);
}

/* After a callback, libcurl goes back to waiting on the network: the
 * caller's hook runs again (it gives back what must not be held there, the
 * database connection a progress write leased). */
static void
back_to_io(struct xfer *x)
{
	if (x->u->before_io)
		x->u->before_io(x->u->before_io_ud);
}

static void
clear_headers(struct xfer *x)
{
	size_t i;

	for (i = 0; i < x->nhdrs; i++) {
		free((char *)x->hdrs[i].name);
		free((char *)x->hdrs[i].value);
	}
	x->nhdrs = 0;
	x->hdr_bytes = 0;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb, len = n;
	const char *colon;

	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		/* A new status line: interim (1xx) or redirect headers are dropped. */
		const char *sp = memchr(p, ' ', len);
		uint64_t status = 0;

		clear_headers(x);
		if (sp && (size_t)(p + len - sp) >= 4)
			parse_u64n(sp + 1, 3, 999, &status);
		x->res->status = (int)status;
		return n;
	}
	if (len == 0) {
		if (x->res->status >= 200 && !x->headers_done) {
			x->headers_done = true;
			if (x->sink && x->sink->on_headers &&
			    x->sink->on_headers(x->ud, x->res->status, x->hdrs, x->nhdrs) < 0) {
				x->res->aborted = true;
				return 0;
			}
			back_to_io(x);
		}
		return n;
	}
	colon = memchr(p, ':', len);
	if (colon && x->nhdrs < HDR_MAX && x->hdr_bytes + len < HDR_BYTES_MAX) {
		char *name = xstrndup(p, (size_t)(colon - p));
		const char *v = colon + 1, *e = p + len;
		char *q;

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		for (q = name; *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q + 32);
		x->hdrs[x->nhdrs].name = name;
		x->hdrs[x->nhdrs].value = xstrndup(v, (size_t)(e - v));
		if (strcmp(name, "content-type") == 0) {
			free(x->res->content_type);
			x->res->content_type = xstrdup(x->hdrs[x->nhdrs].value);
		}
		x->nhdrs++;
		x->hdr_bytes += len;
	}
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nmemb;

	if (x->rq->stream) {
		if (x->sink && x->sink->on_data && x->sink->on_data(x->ud, p, n) < 0) {
			x->res->aborted = true;
			return 0;
		}
		back_to_io(x);
		return n;
	}
	if (buf_append(&x->res->body, p, n) < 0) {
		x->too_large = true;
		return 0;
	}
	return n;
}

static int
on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct xfer *x = ud;
	int64_t now;

	(void)dlt; (void)dln; (void)ult; (void)uln;
	if (x->sink == NULL || x->sink->on_tick == NULL)
		return 0;
	now = mono_usec();
	if (now - x->last_tick < 1000000)
		return 0;
	x->last_tick = now;
	if (x->sink->on_tick(x->ud) < 0) {
		x->res->aborted = true;
		return 1;
	}
	back_to_io(x);
	return 0;
}

void
upstream_set_before_io(struct upstream *u, void (*fn)(void *ud), void *ud)
{
	u->before_io = fn;
	u->before_io_ud = ud;
}

enum rerr
upstream_perform(struct upstream *u, const struct upstream_request *rq,
    const struct upstream_sink *sink, void *ud, struct upstream_result *res)
{
	struct curl_slist *hl = NULL;
	struct xfer x;
	char *auth = NULL;
	CURLcode cc;
	enum rerr rc = RERR_OK;
	curl_off_t t;
	long nconn = 0;
	size_t i;

	if (u->before_io)
		u->before_io(u->before_io_ud);
	memset(res, 0, sizeof(*res));
	buf_init(&res->body, rq->max_response ? rq->max_response : 64u << 20);
	memset(&x, 0, sizeof(x));
	x.u = u;
	x.rq = rq;
	x.sink = sink;
	x.ud = ud;
	x.res = res;
	x.last_tick = mono_usec();

	/* Reset options but keep the connection pool, DNS and TLS caches (the
	 * share attached in upstream_new is not an option and survives). */
	curl_easy_reset(u->h);
	curl_easy_setopt(u->h, CURLOPT_URL, rq->url);
	curl_easy_setopt(u->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(u->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(u->h, CURLOPT_PROXY, "");	/* never from the environment */
	curl_easy_setopt(u->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(u->h, CURLOPT_TCP_KEEPALIVE, 1L);
	if (rq->connect_timeout_s > 0)
		curl_easy_setopt(u->h, CURLOPT_CONNECTTIMEOUT, rq->connect_timeout_s);
	if (rq->total_timeout_s > 0)
		curl_easy_setopt(u->h, CURLOPT_TIMEOUT, rq->total_timeout_s);
	if (rq->idle_timeout_s > 0) {
		curl_easy_setopt(u->h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(u->h, CURLOPT_LOW_SPEED_TIME, rq->idle_timeout_s);
	}
	if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(u->h, CURLOPT_POST, 1L);
		curl_easy_setopt(u->h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(u->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(u->h, CURLOPT_CUSTOMREQUEST, rq->method);
		if (rq->body_len > 0) {
			curl_easy_setopt(u->h, CURLOPT_POSTFIELDS, rq->body);
			curl_easy_setopt(u->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		}
	}
	for (i = 0; rq->headers && rq->headers[i]; i++)
		hl = curl_slist_append(hl, rq->headers[i]);
	if (rq->bearer) {
		auth = xasprintf("Authorization: Bearer %s", rq->bearer);
		hl = curl_slist_append(hl, auth);
	}
	/* No "Expect: 100-continue" round trip; plain bodies so usage can be read. */
	hl = curl_slist_append(hl, "Expect:");
	hl = curl_slist_append(hl, "Accept-Encoding: identity");
	curl_easy_setopt(u->h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(u->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(u->h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(u->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(u->h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(u->h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(u->h, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(u->h, CURLOPT_NOPROGRESS, 0L);

	cc = curl_easy_perform(u->h);

	if (curl_easy_getinfo(u->h, CURLINFO_CONNECT_TIME_T, &t) == CURLE_OK)
		res->connect_us = (int64_t)t;
	if (curl_easy_getinfo(u->h, CURLINFO_TOTAL_TIME_T, &t) == CURLE_OK)
		res->total_us = (int64_t)t;
	if (curl_easy_getinfo(u->h, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK)
		res->new_connections = nconn;

	if (cc == CURLE_OK) {
		/* An empty-bodied response still announces its headers. */
		if (!x.headers_done && sink && sink->on_headers) {
			x.headers_done = true;
			if (sink->on_headers(ud, res->status, x.hdrs, x.nhdrs) < 0)
				res->aborted = true;
		}
	} else if (res->aborted) {
		/* the caller stopped it: not an upstream failure */
	} else if (x.too_large) {
		snprintf(res->error, sizeof(res->error), "upstream response larger than %zu bytes",
		    res->body.max);
		rc = RERR_TOO_LARGE;
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(res->error, sizeof(res->error), "upstream timed out: %s",
		    curl_easy_strerror(cc));
		res->timed_out = true;
		rc = RERR_TIMEOUT;
	} else {
		snprintf(res->error, sizeof(res->error), "%s", curl_easy_strerror(cc));
		rc = RERR_UPSTREAM;
	}
	/* A transfer cut after the headers went out is still a response the
	 * caller has started relaying; it sees rc and res->status together. */
	clear_headers(&x);
	curl_slist_free_all(hl);
	free(auth);
	return rc;
}

void
upstream_result_free(struct upstream_result *res)
{
	buf_free(&res->body);
	free(res->content_type);
	res->content_type = NULL;
}
