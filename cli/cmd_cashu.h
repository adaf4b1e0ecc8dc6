/* cli/cmd_cashu: routstrctl's Cashu commands. Each takes its own argv
 * (argv[0] is the command name) and returns the process exit code. */
#ifndef ROUTSTR_CLI_CMD_CASHU_H
#define ROUTSTR_CLI_CMD_CASHU_H

/* decode-token TOKEN|-: print the decoded token as JSON, no network.
 * Exit 0, 1 for a bad token, 2 for bad usage. */
int cli_decode_token(int argc, char **argv);
/* wallet [recover [--min-age SECONDS]]: unspent totals per mint and unit
 * from the database; "recover" settles unfinished mint operations. */
int cli_wallet(int argc, char **argv);

#endif
