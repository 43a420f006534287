/*
 * t_state.c: the order and recipient state machine (store_state.c).
 * Every (from, to) pair of the states, plus an unknown one, is fed to
 * state_move_ok() and compared with the machine as the README documents
 * it (written out below, pair by pair); then moves on a real SQLite store:
 * a legal move updates the row and writes one event, a move from a state
 * the row is no longer in changes nothing, an illegal move aborts the
 * process and leaves the row as it was.
 */
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "store.h"
#include "store_state.h"
#include "t.h"

static const char *const states[] = {
	"new", "approved", "issued", "waiting_org", "waiting_dcv",
	"waiting_csr", "waiting_funds", "rejected", "cancelled", "revoked",
	"",
};
#define NST	(sizeof(states) / sizeof(states[0]))

/* README, "State machine": recipients. */
static const char *const rcpt_moves[] = {
	"new>approved", "new>waiting_org", "new>waiting_dcv",
	"new>waiting_csr", "new>waiting_funds", "new>rejected",
	"new>cancelled",
	"waiting_org>approved", "waiting_org>waiting_dcv",
	"waiting_org>waiting_csr", "waiting_org>waiting_funds",
	"waiting_org>rejected", "waiting_org>new", "waiting_org>cancelled",
	"waiting_dcv>approved", "waiting_dcv>waiting_org",
	"waiting_dcv>waiting_csr", "waiting_dcv>waiting_funds",
	"waiting_dcv>rejected", "waiting_dcv>new", "waiting_dcv>cancelled",
	"waiting_csr>approved", "waiting_csr>waiting_org",
	"waiting_csr>waiting_dcv", "waiting_csr>waiting_funds",
	"waiting_csr>rejected", "waiting_csr>new", "waiting_csr>cancelled",
	"waiting_funds>approved", "waiting_funds>waiting_org",
	"waiting_funds>waiting_dcv", "waiting_funds>waiting_csr",
	"waiting_funds>rejected", "waiting_funds>new",
	"waiting_funds>cancelled",
	"approved>issued", "approved>rejected", "approved>cancelled",
	"issued>new", "issued>cancelled",
	NULL
};

/* README, "State machine": orders (derived from their recipients). */
static const char *const order_moves[] = {
	"new>approved", "new>waiting_org", "new>waiting_dcv",
	"new>waiting_csr", "new>waiting_funds", "new>issued", "new>rejected",
	"new>cancelled",
	"waiting_org>approved", "waiting_org>waiting_dcv",
	"waiting_org>waiting_csr", "waiting_org>waiting_funds",
	"waiting_org>issued", "waiting_org>rejected", "waiting_org>new",
	"waiting_org>cancelled",
	"waiting_dcv>approved", "waiting_dcv>waiting_org",
	"waiting_dcv>waiting_csr", "waiting_dcv>waiting_funds",
	"waiting_dcv>issued", "waiting_dcv>rejected", "waiting_dcv>new",
	"waiting_dcv>cancelled",
	"waiting_csr>approved", "waiting_csr>waiting_org",
	"waiting_csr>waiting_dcv", "waiting_csr>waiting_funds",
	"waiting_csr>issued", "waiting_csr>rejected", "waiting_csr>new",
	"waiting_csr>cancelled",
	"waiting_funds>approved", "waiting_funds>waiting_org",
	"waiting_funds>waiting_dcv", "waiting_funds>waiting_csr",
	"waiting_funds>issued", "waiting_funds>rejected", "waiting_funds>new",
	"waiting_funds>cancelled",
	"approved>waiting_org", "approved>waiting_dcv", "approved>waiting_csr",
	"approved>waiting_funds", "approved>issued", "approved>rejected",
	"approved>cancelled",
	"issued>new", "issued>approved", "issued>waiting_org",
	"issued>waiting_dcv", "issued>waiting_csr", "issued>waiting_funds",
	"issued>rejected", "issued>cancelled",
	"rejected>new", "rejected>approved", "rejected>waiting_org",
	"rejected>waiting_dcv", "rejected>waiting_csr",
	"rejected>waiting_funds", "rejected>issued", "rejected>cancelled",
	NULL
};

static int
listed(const char *const *moves, const char *from, const char *to)
{
	char	 pair[64];
	size_t	 i;

	snprintf(pair, sizeof(pair), "%s>%s", from, to);
	for (i = 0; moves[i] != NULL; i++)
		if (strcmp(moves[i], pair) == 0)
			return 1;
	return 0;
}

static void
test_table(enum state_of what, const char *const *moves, const char *name)
{
	size_t	 f, t, n = 0, accepted = 0;

	for (f = 0; f < NST; f++)
		for (t = 0; t < NST; t++) {
			int want = listed(moves, states[f], states[t]);
			int got = state_move_ok(what, states[f], states[t]);

			T_CHECK(got == want, "%s %s -> %s: %s", name,
			    states[f], states[t], got ? "accepted" :
			    "refused");
			accepted += got;
		}
	while (moves[n] != NULL)
		n++;
	T_CHECK(accepted == n, "%s: %zu moves accepted, %zu in the machine",
	    name, accepted, n);
	T_CHECK(state_move_ok(what, NULL, "new") == 0 &&
	    state_move_ok(what, "new", NULL) == 0, "%s: NULL refused", name);
}

static struct store *
fixture(const char *path)
{
	struct store	*st;
	char		 err[256];

	if ((st = store_open(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		return NULL;
	}
	if (store_exec(st, "INSERT INTO account (id, name, created)"
	    " VALUES (1, 'acme', 0);"
	    " INSERT INTO batch (id, account_id, ext_id, sha256, file_name,"
	    "  received) VALUES (10, 1, 'B', 'h', 'f', 0);"
	    " INSERT INTO orders (id, batch_id, ext_id, product, sig_hash,"
	    "  vkind, agreement, state, updated) VALUES"
	    "  (100, 10, 'O', 'p', 'sha256', 1, 1, 'new', 0);"
	    " INSERT INTO recipient (id, order_id, idx, cn_type, email, state)"
	    "  VALUES (1000, 100, 0, 0, 'a@acme.example', 'new')") == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

static void
row(struct store *st, const char *sql, char *out, size_t len)
{
	char	*s = NULL;

	out[0] = '\0';
	struct dbstmt *q = store_prep(st, sql, NULL);
	if (q != NULL && db_step(q) == DB_ROW)
		s = store_col_text(q, 0);
	store_release(q);
	if (s != NULL)
		snprintf(out, len, "%s", s);
	free(s);
}

static long long
events(struct store *st)
{
	long long	 n = -1;

	store_int(st, &n, -1, store_prep(st, "SELECT count(*) FROM event",
	    NULL));
	return n;
}

static void
test_moves(struct store *st)
{
	struct state_move	 m;
	char			 s[128];
	long long		 ev0 = events(st);

	memset(&m, 0, sizeof(m));
	m.batch = 10, m.order = 100, m.rcpt = 1000;
	m.from = S_NEW, m.to = S_WAIT_CSR, m.reason = "", m.message = "no CSR";
	T_CHECK(rcpt_move(st, &m) == 1, "new -> waiting_csr moved");
	row(st, "SELECT state || '|' || coalesce(reason, '-') || '|' ||"
	    " message FROM recipient WHERE id = 1000", s, sizeof(s));
	T_STREQ(s, "waiting_csr|-|no CSR");
	row(st, "SELECT kind || '|' || from_state || '|' || to_state || '|'"
	    " || recipient_id || '|' || detail FROM event ORDER BY id DESC"
	    " LIMIT 1", s, sizeof(s));
	T_STREQ(s, "recipient_state|new|waiting_csr|1000|no CSR");
	T_CHECK(events(st) == ev0 + 1, "one event per move");

	/* The row is no longer in new: nothing changes, no event. */
	m.to = S_APPROVED;
	T_CHECK(rcpt_move(st, &m) == 0, "stale move refused by the row");
	row(st, "SELECT state FROM recipient WHERE id = 1000", s, sizeof(s));
	T_STREQ(s, "waiting_csr");
	T_CHECK(events(st) == ev0 + 1, "no event for a stale move");

	/* from == to: reason and message only. */
	m.from = m.to = S_WAIT_CSR, m.message = "still no CSR";
	T_CHECK(rcpt_move(st, &m) == 1, "same state: message updated");
	row(st, "SELECT message FROM recipient WHERE id = 1000", s, sizeof(s));
	T_STREQ(s, "still no CSR");
	T_CHECK(events(st) == ev0 + 1, "no event without a move");

	memset(&m, 0, sizeof(m));
	m.kind = "order_state", m.batch = 10, m.order = 100;
	m.from = S_NEW, m.to = S_WAIT_CSR, m.not_after = 12345;
	T_CHECK(order_move(st, &m) == 1, "order new -> waiting_csr");
	row(st, "SELECT state || '|' || not_after FROM orders WHERE id = 100",
	    s, sizeof(s));
	T_STREQ(s, "waiting_csr|12345");
	T_CHECK(events(st) == ev0 + 2, "order move event");
}

/* An illegal move is a bug: the process aborts, the row stays. */
static void
test_abort(const char *path)
{
	pid_t	 pid;
	int	 status = 0;
	char	 s[64];

	if ((pid = fork()) == 0) {
		struct state_move	 m;
		struct store		*st;
		char			 err[256];

		freopen("/dev/null", "w", stderr);
		if ((st = store_open(path, err, sizeof(err))) == NULL)
			_exit(3);
		memset(&m, 0, sizeof(m));
		m.order = 100, m.rcpt = 1000;
		m.from = S_WAIT_CSR, m.to = S_ISSUED;
		rcpt_move(st, &m);
		_exit(0);
	}
	T_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	    "waiting_csr -> issued aborts (status %d)", status);
	{
		struct store	*st;
		char		 err[256];

		st = store_open(path, err, sizeof(err));
		T_CHECK(st != NULL, "reopen: %s", err);
		if (st == NULL)
			return;
		row(st, "SELECT state FROM recipient WHERE id = 1000", s,
		    sizeof(s));
		T_STREQ(s, "waiting_csr");
		store_close(st);
	}
}

int
main(void)
{
	char		 dir[] = "/tmp/certspool-state.XXXXXX", path[64];
	struct store	*st;

	test_table(STATE_RECIPIENT, rcpt_moves, "recipient");
	test_table(STATE_ORDER, order_moves, "order");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db.sqlite", dir);
	st = fixture(path);
	T_CHECK(st != NULL, "store with one order");
	if (st != NULL) {
		test_moves(st);
		store_close(st);
		test_abort(path);
	}
	unlink(path);
	snprintf(path, sizeof(path), "%s/db.sqlite-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db.sqlite-shm", dir);
	unlink(path);
	rmdir(dir);
	return t_done("t_state");
}
