# migrations/NNNN_name.sql are compiled into the programs (migrations.c), so a
# binary always carries the schema it expects. Add new files to MIGRATIONS.
MIGRATIONS = \
	migrations/0001_init.sql \
	migrations/0002_ledger.sql \
	migrations/0003_cashu.sql \
	migrations/0004_catalog.sql \
	migrations/0005_funds.sql \
	migrations/0006_lean.sql \
	migrations/0007_lean_ledger.sql \
	migrations/0008_providers.sql \
	migrations/0009_cron.sql \
	migrations/0010_lightning.sql \
	migrations/0011_fx_swaps.sql \
	migrations/0012_lightning_out.sql \
	migrations/0013_admin.sql \
	migrations/0014_settings.sql \
	migrations/0015_expiry_attempts.sql

EXTRA_DIST += $(MIGRATIONS) scripts/embed-migrations.sh
nodist_libroutstr_a_SOURCES = migrations.c
BUILT_SOURCES += migrations.c
CLEANFILES += migrations.c
migrations.c: $(MIGRATIONS) $(top_srcdir)/scripts/embed-migrations.sh
	$(AM_V_GEN)(cd $(top_srcdir) && sh scripts/embed-migrations.sh $(MIGRATIONS)) > $@.tmp && mv $@.tmp $@
