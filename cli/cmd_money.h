/* cli/cmd_money: routstrctl's ledger and maintenance commands. Each takes its
 * own argv (argv[0] is the command name) and returns the exit code. */
#ifndef ROUTSTR_CLI_CMD_MONEY_H
#define ROUTSTR_CLI_CMD_MONEY_H

/* audit: prove the ledger's invariants and that the wallet covers what users
 * own. Exit 0 when clean, 1 when anything is off. */
int cli_audit(int argc, char **argv);
int cli_earnings(int argc, char **argv);
/* withdraw: pay the operator's earnings over Lightning (lib/lnout.c). */
int cli_withdraw(int argc, char **argv);
/* cron: the periodic jobs (reservation sweep, BTC price refresh, recovery of
 * unfinished mint operations). Exit 0, or 1 if a job failed. */
int cli_cron(int argc, char **argv);

#endif
