# SPDX-License-Identifier: GPL-2.0-or-later
# deploy/deploy.mk: install, uninstall, dist, and their checks.  Included by
# the Makefile.
#
# `make install` honours PREFIX (default /usr/local) and DESTDIR, and each
# directory below may be set on its own.  The units and the man page name
# installed paths: install fills in their @...@ placeholders with sed, so
# another PREFIX needs no rebuild.  The configuration lives in SYSCONFDIR
# (default /etc, whatever the PREFIX); install writes nothing there.

# The version has one home, NFQLB_VERSION in nfqlb/cli.h.
NFQLB_VERSION := $(shell sed -n 's/^.define NFQLB_VERSION "\(.*\)"$$/\1/p' nfqlb/cli.h)

PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
MANDIR      ?= $(PREFIX)/share/man
DOCDIR      ?= $(PREFIX)/share/doc/nfqlb
EXAMPLEDIR  ?= $(DOCDIR)/examples
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR  ?= /etc

OPTDUMP    := $(BUILD)/optdump
COMPLETION := $(BUILD)/completion/nfqlb
UNITS      := nfqlb@.service nfqlb-health@.service
EXAMPLES   := $(notdir $(wildcard deploy/examples/*))
DIST       := $(BUILD)/nfqlb-$(NFQLB_VERSION).tar.gz

# What install puts in place, DESTDIR aside; uninstall removes exactly these.
INSTALLED := $(SBINDIR)/nfqlb $(MANDIR)/man8/nfqlb.8 $(BASHCOMPDIR)/nfqlb \
	     $(UNITS:%=$(UNITDIR)/%) $(EXAMPLES:%=$(EXAMPLEDIR)/%)

SUBST := sed -e 's|@VERSION@|$(NFQLB_VERSION)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' \
	     -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g' \
	     -e 's|@EXAMPLEDIR@|$(EXAMPLEDIR)|g'

.PHONY: install uninstall dist check-deploy

all: $(COMPLETION)

# The option tables' dumper: the test programs and the completion read it.
$(OPTDUMP): test/deploy/optdump.c $(BUILD)/libnfqlb.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(COMPLETION): $(OPTDUMP) deploy/gen-completion.sh
	@mkdir -p $(dir $@)
	$(OPTDUMP) >$@.dump
	deploy/gen-completion.sh <$@.dump >$@.tmp
	mv $@.tmp $@

install: $(NFQLB) $(COMPLETION) ## install nfqlb, nfqlb(8), completion, units, examples (PREFIX=/usr/local, DESTDIR)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(EXAMPLEDIR)
	install -m 0755 $(NFQLB) $(DESTDIR)$(SBINDIR)/nfqlb
	$(SUBST) man/nfqlb.8.in >$(DESTDIR)$(MANDIR)/man8/nfqlb.8
	install -m 0644 $(COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/nfqlb
	for u in $(UNITS); do \
		$(SUBST) deploy/$$u.in >$(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	install -m 0644 $(EXAMPLES:%=deploy/examples/%) $(DESTDIR)$(EXAMPLEDIR)
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/nfqlb.8 $(UNITS:%=$(DESTDIR)$(UNITDIR)/%)

uninstall: ## remove what install put there (same PREFIX and DESTDIR)
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	for d in $(DESTDIR)$(EXAMPLEDIR) $(DESTDIR)$(DOCDIR); do \
		[ ! -d $$d ] || rmdir --ignore-fail-on-non-empty $$d || exit 1; \
	done

# The tarball holds the files git tracks, as they are in the work tree, under
# nfqlb-VERSION/, with the last commit's time: the same tree makes the same
# bytes.
dist: ## build $(BUILD)/nfqlb-VERSION.tar.gz from the files git tracks
	@[ -n "$(NFQLB_VERSION)" ] || { echo "dist: no NFQLB_VERSION in nfqlb/cli.h" >&2; exit 1; }
	@mkdir -p $(BUILD)
	git ls-files -z >$(BUILD)/dist.files
	tar --null -T $(BUILD)/dist.files --transform 's,^,nfqlb-$(NFQLB_VERSION)/,' \
		--sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@$$(git log -1 --format=%ct) -cf $(DIST:.gz=)
	gzip -n -9 -f $(DIST:.gz=)
	@echo $(DIST)

check-deploy: $(NFQLB) $(OPTDUMP) $(COMPLETION) tools ## check install, dist, nfqlb(8), completion, units, the docs' links (root: in a namespace)
	BUILD=$(BUILD) NFQLB=$(abspath $(NFQLB)) TOOLS=$(abspath $(BUILD)/tools) \
		OPTDUMP=$(abspath $(OPTDUMP)) COMPLETION=$(abspath $(COMPLETION)) \
		test/deploy/run.sh

-include $(OPTDUMP).d
