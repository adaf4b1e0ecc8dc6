# fcgi/: the FastCGI runtime and the routstr.fcgi program.
bin_PROGRAMS += routstr.fcgi
routstr_fcgi_SOURCES = \
	fcgi/main.c \
	fcgi/server.c fcgi/server.h \
	fcgi/http.c fcgi/http.h \
	fcgi/router.c fcgi/router.h \
	$(HANDLER_SOURCES)
routstr_fcgi_LDADD = $(LIB_LIBS) $(FCGI_LIBS) $(QRENCODE_LIBS)
