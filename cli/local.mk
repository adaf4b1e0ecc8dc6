# cli/: routstrctl, the operator's and cron's command-line tool.
bin_PROGRAMS += routstrctl
routstrctl_SOURCES = cli/routstrctl.c cli/cli.h $(CLI_COMMANDS)
routstrctl_LDADD = $(LIB_LIBS)
CLI_COMMANDS =
