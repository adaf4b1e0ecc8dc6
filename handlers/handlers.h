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

/* The operator's dashboard (admin.c, admin_money.c, admin_setup.c). */
void h_admin_static(struct req *r);
void h_admin_login(struct req *r);
void h_admin_logout(struct req *r);
void h_admin_overview(struct req *r);
void h_admin_keys(struct req *r);
void h_admin_root(struct req *r);
void h_admin_key(struct req *r);
void h_admin_key_limits(struct req *r);
void h_admin_key_refund(struct req *r);
void h_admin_withdraw_page(struct req *r);
void h_admin_withdraw(struct req *r);
void h_admin_withdraw_ln(struct req *r);
void h_admin_payouts(struct req *r);
void h_admin_transactions(struct req *r);
void h_admin_logs(struct req *r);
void h_admin_providers(struct req *r);
void h_admin_provider_save(struct req *r);
void h_admin_provider_toggle(struct req *r);
void h_admin_settings(struct req *r);
void h_admin_password(struct req *r);
void h_admin_setting_save(struct req *r);
void h_admin_models(struct req *r);
void h_admin_model_toggle(struct req *r);
void h_admin_model_test(struct req *r);
void h_admin_model_price(struct req *r);
/* Its JSON API under /admin/api/ (admin_api.c). */
void h_admin_api_login(struct req *r);
void h_admin_api_logout(struct req *r);
void h_admin_api_password(struct req *r);
void h_admin_api_settings(struct req *r);
void h_admin_api_settings_patch(struct req *r);
void h_admin_api_balances(struct req *r);
void h_admin_api_keys(struct req *r);
void h_admin_api_key_patch(struct req *r);
void h_admin_api_transactions(struct req *r);
void h_admin_api_logs(struct req *r);
void h_admin_api_usage(struct req *r);
void h_admin_api_metrics(struct req *r);
void h_admin_api_by_model(struct req *r);
void h_admin_api_withdraw(struct req *r);
void h_admin_api_providers(struct req *r);
void h_admin_api_provider(struct req *r);
void h_admin_api_invoices(struct req *r);
void h_admin_api_tokens(struct req *r);
void h_admin_api_token_delete(struct req *r);

#endif
