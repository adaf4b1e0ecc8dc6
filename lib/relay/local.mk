# lib/relay/: the relay engine, the endpoint descriptions and the cost
# fields (relay.h). The adapter is handlers/proxy.c.
libroutstr_a_SOURCES += \
	lib/relay/relay.h \
	lib/relay/engine.c \
	lib/relay/endpoints.c \
	lib/relay/bill.c
