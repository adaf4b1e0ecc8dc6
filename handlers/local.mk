# handlers/: one file per endpoint family, linked into routstr.fcgi.
HANDLER_SOURCES = \
	handlers/handlers.h \
	handlers/routes.c \
	handlers/info.c \
	handlers/proxy.c \
	handlers/lightning.c \
	handlers/auth.c handlers/auth.h \
	handlers/balance.c \
	handlers/wallet_glue.c handlers/wallet_glue.h \
	handlers/errors.c handlers/errors.h
