# install.mk: make install / make uninstall (included by the Makefile).
#   make install [PREFIX=/usr/local] [DESTDIR=] [sbindir=...] ...
#   make uninstall (the same variables)
# The installed binary is $(INSTBUILD)/certspool: the build tree's
# objects, except batch.c and web_serve.c compiled again into $(INSTBUILD)
# with the installed data directory, so that ./certspool keeps using the
# source tree's schemas/ and web/assets and the installed one needs no
# environment variable.  INSTBUILD (default build-install/) may be
# anywhere: the tests install without writing into the source tree.
#
# Paths (GNU names; each can be given on the command line):
#   prefix        $(PREFIX)                 (/usr/local)
#   sbindir       $(prefix)/sbin            the binary
#   datadir       $(prefix)/share           certspool/schemas, certspool/web
#   mandir        $(datadir)/man            certspool(8), certspool.conf(5), ...
#   sysconfdir    /etc when prefix is /usr, else $(prefix)/etc
#                                           certspool/certspool.conf.example
#   localstatedir /var                      spool/certspool, lib/certspool
#   systemdunitdir $(prefix)/lib/systemd/system
#   sysusersdir   $(prefix)/lib/sysusers.d
#   tmpfilesdir   $(prefix)/lib/tmpfiles.d

prefix		?= $(PREFIX)
sbindir		?= $(prefix)/sbin
datadir		?= $(prefix)/share
mandir		?= $(datadir)/man
sysconfdir	?= $(if $(filter /usr,$(prefix)),/etc,$(prefix)/etc)
localstatedir	?= /var
systemdunitdir	?= $(prefix)/lib/systemd/system
sysusersdir	?= $(prefix)/lib/sysusers.d
tmpfilesdir	?= $(prefix)/lib/tmpfiles.d
pkgdatadir	 = $(datadir)/certspool
pkgconfdir	 = $(sysconfdir)/certspool
spooldir	 = $(localstatedir)/spool/certspool
statedir	 = $(localstatedir)/lib/certspool

INSTALL		?= install
INSTBUILD	?= $(CURDIR)/build-install
IB		 = $(INSTBUILD)
INST_OBJS	 = $(filter-out src/batch.o src/web_serve.o,$(OBJS)) \
		   $(IB)/batch.o $(IB)/web_serve.o
WEB_FILES	 = $(notdir $(wildcard web/assets/*))
SCHEMA_FILES	 = $(notdir $(wildcard schemas/*.xsd))
MAN5		 = $(notdir $(wildcard man/*.5))
MAN8		 = $(notdir $(wildcard man/*.8))
UNITS_SYSTEMD	 = certspool.service certspool-web.service
# @NAME@ in the files of dist/ becomes the path.
SUBST		 = sed -e 's|@sbindir@|$(sbindir)|g' \
		   -e 's|@pkgconfdir@|$(pkgconfdir)|g' \
		   -e 's|@spooldir@|$(spooldir)|g' \
		   -e 's|@statedir@|$(statedir)|g'

# The installed paths, rewritten only when they change, so that what
# holds them is made again exactly then.
INST_PATHS	 = $(pkgdatadir) $(pkgconfdir) $(spooldir) $(statedir)
$(IB)/paths: FORCE
	@mkdir -p $(IB)
	@echo '$(INST_PATHS)' | cmp -s - $@ || echo '$(INST_PATHS)' >$@

$(IB)/%.o: src/%.c $(IB)/paths $(wildcard src/*.h)
	$(CC) $(CFLAGS) -USCHEMA_DIR -UWEB_ASSET_DIR \
	    -DSCHEMA_DIR='"$(pkgdatadir)/schemas"' \
	    -DWEB_ASSET_DIR='"$(pkgdatadir)/web"' -c -o $@ $<

$(IB)/certspool: $(INST_OBJS)
	$(CC) $(LDFLAGS) -o $@ $(INST_OBJS) $(LDLIBS)

# The example config: the text certspool init writes (every key, its
# default and its explanation, from the binary itself), with the paths
# of the installed layout and log = journal.
$(IB)/certspool.conf.example: $(IB)/certspool $(IB)/paths
	rm -rf $@.d
	$(IB)/certspool init $@.d >/dev/null
	{ echo '# Example for the installed layout (make install): copy to'; \
	  echo '# $(pkgconfdir)/certspool.conf and adapt.'; \
	  sed -e 's|^spool_dir = .*|spool_dir = $(spooldir)|' \
	    -e 's|^database = .*|database = $(statedir)/certspool.db|' \
	    -e 's|^ca_dir = .*|ca_dir = $(statedir)/ca|' \
	    -e 's|^log = .*|log = journal|' $@.d/certspool.conf; } >$@.tmp
	rm -rf $@.d
	mv $@.tmp $@

install: $(IB)/certspool $(IB)/certspool.conf.example
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(pkgdatadir)/schemas \
	    $(DESTDIR)$(pkgdatadir)/web $(DESTDIR)$(pkgconfdir) \
	    $(DESTDIR)$(systemdunitdir) $(DESTDIR)$(sysusersdir) \
	    $(DESTDIR)$(tmpfilesdir)
	$(INSTALL) -m 0755 $(IB)/certspool $(DESTDIR)$(sbindir)/certspool
	$(INSTALL) -m 0644 $(addprefix schemas/,$(SCHEMA_FILES)) \
	    $(DESTDIR)$(pkgdatadir)/schemas
	$(INSTALL) -m 0644 $(addprefix web/assets/,$(WEB_FILES)) \
	    $(DESTDIR)$(pkgdatadir)/web
	$(INSTALL) -m 0644 $(IB)/certspool.conf.example $(DESTDIR)$(pkgconfdir)
	for u in $(UNITS_SYSTEMD); do \
		$(SUBST) dist/$$u.in >$(DESTDIR)$(systemdunitdir)/$$u && \
		chmod 0644 $(DESTDIR)$(systemdunitdir)/$$u || exit 1; \
	done
	$(SUBST) dist/sysusers.conf.in >$(DESTDIR)$(sysusersdir)/certspool.conf
	$(SUBST) dist/tmpfiles.conf.in >$(DESTDIR)$(tmpfilesdir)/certspool.conf
	chmod 0644 $(DESTDIR)$(sysusersdir)/certspool.conf \
	    $(DESTDIR)$(tmpfilesdir)/certspool.conf
	if [ -n "$(MAN5)" ]; then $(INSTALL) -d $(DESTDIR)$(mandir)/man5 && \
	    $(INSTALL) -m 0644 $(addprefix man/,$(MAN5)) \
	    $(DESTDIR)$(mandir)/man5; fi
	if [ -n "$(MAN8)" ]; then $(INSTALL) -d $(DESTDIR)$(mandir)/man8 && \
	    $(INSTALL) -m 0644 $(addprefix man/,$(MAN8)) \
	    $(DESTDIR)$(mandir)/man8; fi

# Removes what install wrote, and the directories it made if empty; an
# operator's certspool.conf, the spool and the database stay.
uninstall:
	rm -f $(DESTDIR)$(sbindir)/certspool \
	    $(addprefix $(DESTDIR)$(pkgdatadir)/schemas/,$(SCHEMA_FILES)) \
	    $(addprefix $(DESTDIR)$(pkgdatadir)/web/,$(WEB_FILES)) \
	    $(DESTDIR)$(pkgconfdir)/certspool.conf.example \
	    $(addprefix $(DESTDIR)$(systemdunitdir)/,$(UNITS_SYSTEMD)) \
	    $(DESTDIR)$(sysusersdir)/certspool.conf \
	    $(DESTDIR)$(tmpfilesdir)/certspool.conf \
	    $(addprefix $(DESTDIR)$(mandir)/man5/,$(MAN5)) \
	    $(addprefix $(DESTDIR)$(mandir)/man8/,$(MAN8))
	rmdir $(DESTDIR)$(pkgdatadir)/schemas $(DESTDIR)$(pkgdatadir)/web \
	    $(DESTDIR)$(pkgdatadir) $(DESTDIR)$(pkgconfdir) 2>/dev/null || :

install-clean:
	rm -rf $(IB)

clean: install-clean

FORCE:

.PHONY: install uninstall install-clean FORCE
