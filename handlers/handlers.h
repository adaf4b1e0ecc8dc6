/* handlers: one file per endpoint family. Glue only: they read the parsed
 * request, call lib/, and answer through fcgi/http.h. */
#ifndef ROUTSTR_HANDLERS_H
#define ROUTSTR_HANDLERS_H

#include "http.h"

/* info.c */
void h_info(struct req *r);
void h_health(struct req *r);
void h_root(struct req *r);

/* proxy.c */
void h_proxy_chat(struct req *r);

#endif
