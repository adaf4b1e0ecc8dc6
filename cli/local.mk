# cli/: routstrctl, the operator's and cron's command-line tool.
bin_PROGRAMS += routstrctl
routstrctl_SOURCES = cli/routstrctl.c cli/cli.h $(CLI_COMMANDS)
routstrctl_LDADD = $(LIB_LIBS)
CLI_COMMANDS = cli/cmd_cashu.c cli/cmd_cashu.h cli/cmd_money.c cli/cmd_money.h \
	cli/cmd_provider.c cli/cmd_provider.h cli/cmd_admin.c cli/cmd_admin.h
