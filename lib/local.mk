# lib/: config, log, db, buffers, upstream relay, SSE framing, LNURL-pay client,
# HTML templates.
libroutstr_a_SOURCES += \
	lib/util.c lib/util.h \
	lib/buf.c lib/buf.h \
	lib/err.c lib/err.h \
	lib/conf.c lib/conf.h \
	lib/log.c lib/log.h \
	lib/owner.c lib/owner.h \
	lib/db.c lib/db.h lib/db_sql.h \
	lib/sse.c lib/sse.h \
	lib/upstream.c lib/upstream.h \
	lib/json.c lib/json.h \
	lib/usage.c lib/usage.h \
	lib/providers.c lib/providers.h \
	lib/cron.c lib/cron.h \
	lib/lnurl.c lib/lnurl.h \
	lib/mount.c lib/mount.h \
	lib/template.c lib/template.h
