/* cli: routstrctl's commands. Each command is a function taking its own
 * argv (argv[0] is the command name) and returning the process exit code. */
#ifndef ROUTSTR_CLI_H
#define ROUTSTR_CLI_H

struct conf;

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/* Open the database named by the settings and bring it up to date; the
 * caller closes it. NULL on failure (reason printed). */
struct db *cli_open_db(void);

#endif
