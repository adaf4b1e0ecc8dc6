/* admin: the operator's dashboard handlers (admin.c, admin_money.c,
 * admin_setup.c) and what they share. */
#ifndef ROUTSTR_ADMIN_H
#define ROUTSTR_ADMIN_H

#include <stdint.h>

/* t as "YYYY-MM-DD HH:MM UTC", "-" for 0 or less. */
void admin_time(int64_t t, char out[32]);

#endif
