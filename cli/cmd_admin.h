/* cli/cmd_admin: routstrctl set-password and admin-token, the operator's way
 * into the dashboard from a shell (lib/admin_auth). Each takes its own argv
 * (argv[0] is the command name) and returns the exit code. */
#ifndef ROUTSTR_CLI_CMD_ADMIN_H
#define ROUTSTR_CLI_CMD_ADMIN_H

/* set-password [--generate]: the new password from one line of stdin (not
 * echoed on a terminal), or a generated one printed on stdout. Ends every
 * dashboard session. */
int cli_set_password(int argc, char **argv);
/* admin-token create [--name N] | list | revoke ID. create prints the token
 * on stdout, once. */
int cli_admin_token(int argc, char **argv);

#endif
