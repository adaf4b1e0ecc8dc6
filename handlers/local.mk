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
	handlers/errors.c handlers/errors.h \
	handlers/admin.c handlers/admin.h \
	handlers/admin_gate.c handlers/admin_gate.h \
	handlers/admin_view.c handlers/admin_view.h handlers/admin_assets.h \
	handlers/admin_money.c \
	handlers/admin_setup.c \
	handlers/admin_api.c

# The dashboard's templates and static files, compiled in (templates.c).
ADMIN_TEMPLATES = \
	templates/layout.html templates/login.html templates/overview.html \
	templates/keys.html templates/key.html templates/withdraw.html \
	templates/payouts.html templates/transactions.html templates/logs.html \
	templates/providers.html templates/settings.html templates/models.html \
	templates/style.css templates/app.js
EXTRA_DIST += $(ADMIN_TEMPLATES) scripts/embed-templates.sh
nodist_routstr_fcgi_SOURCES = templates.c
BUILT_SOURCES += templates.c
CLEANFILES += templates.c
templates.c: $(ADMIN_TEMPLATES) $(top_srcdir)/scripts/embed-templates.sh
	$(AM_V_GEN)(cd $(top_srcdir) && sh scripts/embed-templates.sh $(ADMIN_TEMPLATES)) > $@.tmp && mv $@.tmp $@
