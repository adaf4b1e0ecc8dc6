/* cmd_provider: routstrctl provider (list, add, map, enable, disable, remove). */
#ifndef ROUTSTR_CMD_PROVIDER_H
#define ROUTSTR_CMD_PROVIDER_H

int cli_provider(int argc, char **argv);

#endif
