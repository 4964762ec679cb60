/* cli: the tug command line: subcommands and what each one runs. */
#ifndef TUG_CLI_H
#define TUG_CLI_H

/* Entry for `tug <subcommand> ...`; returns the process exit status. */
int cli_main(int argc, char **argv);

/* `tug check-config`: 0 when every required kernel feature is present, 1 if not. */
int cli_check_config(int argc, char **argv);

#endif
