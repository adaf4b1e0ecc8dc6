/* handlers: one file per endpoint family. Glue only: they read the parsed
 * request, call lib/, and answer through fcgi/http.h. */
#ifndef ROUTSTR_HANDLERS_H
#define ROUTSTR_HANDLERS_H

#include "http.h"

/* info.c */
void h_info(struct req *r);
void h_health(struct req *r);
void h_root(struct req *r);

/* balance.c */
void h_balance_info(struct req *r);
void h_balance_create(struct req *r);
void h_balance_topup(struct req *r);
void h_balance_refund(struct req *r);
void h_balance_history(struct req *r);
void h_balance_child_key(struct req *r);
void h_balance_child_reset(struct req *r);
struct json_object;
struct ledger_limits;
/* Optional limits (balance_limit, balance_limit_reset, validity_date) from
 * the body or the query; 0, or -1 after answering 400. */
int read_limits(struct req *r, struct json_object *body, struct ledger_limits *lim, bool *any);
void h_balance_not_found(struct req *r);

/* models.c */
void h_models(struct req *r);
void h_model_get(struct req *r);

/* lightning.c: deposits over Lightning (lib/lightning.c) */
void h_ln_invoice(struct req *r);
void h_ln_status(struct req *r);
void h_ln_recover(struct req *r);
void h_model_paths(struct req *r);
void h_model_paths_model(struct req *r);

/* proxy.c */
void h_proxy(struct req *r);

#endif
