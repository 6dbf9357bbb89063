/* src/proc/launch.h — starting weft child processes, shared by process
 * objects (process.c) and the process pool (ppool*.c).
 *
 * Function names across processes (fnref.c): a function pointer becomes the
 * object that holds it (link-map name, "" for the main program) plus its
 * offset from that object's load bias, plus the object file's identity
 * (device and inode), and is turned back into a pointer in the child.
 *
 * Children (launch.c, forkserver.c): every child is connected to its owner
 * by a control socket (AF_UNIX SOCK_SEQPACKET: one send = one message, with
 * SCM_RIGHTS for descriptors). The child runs entry(arg, size) with its end
 * available through weft__child_ctl(), then exits with entry's return value.
 *
 *  - FORK: fork() of the caller; the caller is the parent and reaps.
 *  - FORKSERVER: forked by the fork server (a re-executed copy of the
 *    program stopped in a libweft constructor before main, single-threaded,
 *    one per process, started on first use). The server is the parent: it
 *    reaps the child and then sends WEFT__CTL_STATUS on the child's own
 *    control socket, so the owner reads the exit status in order after the
 *    child's last message.
 *  - SPAWN: as FORKSERVER, but the forked child re-executes the program
 *    (/proc/self/exe); the constructor reads the entry from the control
 *    socket before main.
 *
 * Control sockets are close-on-exec, and a child closes every other weft
 * control socket it inherited, so EOF on a control socket means exactly
 * "that child (and, for server children, its reaper) is gone". */
#ifndef WEFT_PROC_LAUNCH_H
#define WEFT_PROC_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "weft/proc.h"

/* ---- function references ---- */

#define WEFT__FNREF_PATH 512

typedef struct weft__fnref {
  uint64_t offset;                  /* address - load bias of the object */
  uint64_t dev, ino;                /* identity of the object's file */
  char path[WEFT__FNREF_PATH];      /* link-map name; "" = the main program */
} weft__fnref;

/* Names fn portably. Errors: WEFT_EINVAL (NULL, or not inside a loaded
 * object: message in err), WEFT_ERANGE (path too long). */
int weft__fnref_make(weft__fnref *out, const void *fn, char *err, size_t errlen);
/* Turns a reference back into a pointer in this process, loading the
 * shared library when it is not loaded yet. Errors: WEFT_ENOENT with a
 * message (object missing, a different file now, offset outside its code). */
int weft__fnref_resolve(const weft__fnref *r, void **fn, char *err, size_t errlen);

/* ---- the control channel ---- */

/* Message kinds below 0x1000 belong to the user of the channel (the pool's
 * protocol); these are the launcher's own. */
enum {
  WEFT__CTL_STATUS = 0x1001,       /* from the reaper: payload int wstatus */
  WEFT__CTL_START_ERROR = 0x1002,  /* from the child: int code, then a
                                      NUL-terminated message */
  WEFT__CTL_CRASH_NOTE = 0x1003    /* from the child's fatal-signal handler:
                                      struct weft__crash_note */
};

/* What a dying child says about itself (best effort, from a signal handler). */
typedef struct weft__crash_note {
  int32_t signal;
  int32_t near_memory_limit;       /* 1 when its address space was at the limit */
  uint64_t vm_bytes;               /* address-space size at the crash */
  uint64_t memory_limit;
} weft__crash_note;

/* Largest message payload (bigger data goes through a memfd). */
#define WEFT__CTL_MAX (64 * 1024)

/* Sends one message (kind, len bytes of data, up to 4 descriptors).
 * Returns 0, WEFT_ECLOSED (peer gone), or -errno. Never raises SIGPIPE. */
int weft__ctl_send(int fd, uint32_t kind, const void *data, size_t len,
                   const int *fds, size_t nfds);
/* Receives one message: *kind, payload into buf (cap bytes; longer is
 * WEFT_ERANGE), *len, descriptors into fds (up to *nfds; set to how many
 * came, all close-on-exec; fds/nfds may be NULL: then any are closed).
 * Waits up to timeout_ns (0 = do not wait, WEFT_FOREVER). Returns 0,
 * WEFT_ECLOSED at end of file, WEFT_ETIMEDOUT, -errno. */
int weft__ctl_recv(int fd, uint32_t *kind, void *buf, size_t cap, size_t *len,
                   int *fds, size_t *nfds, uint64_t timeout_ns);

/* ---- children ---- */

typedef struct weft__child_spec {
  int method;                /* WEFT_START_FORK, _FORKSERVER or _SPAWN (not DEFAULT) */
  weft_proc_fn entry;        /* run in the child; its return is the exit code */
  const void *arg;           /* size bytes copied to the child */
  size_t size;
  size_t memory_limit;       /* RLIMIT_AS, 0 = none */
  const char *name;          /* comm of the child, NULL = unchanged */
} weft__child_spec;

typedef struct weft__child {
  pid_t pid;
  int ctl;                   /* the owner's end of the control socket */
  int method;
  bool exited;               /* status known (reaped) */
  int wstatus;               /* as from waitpid, valid when exited */
} weft__child;

/* Starts a child. *c is filled on success (c->ctl open, c->exited false).
 * Errors: WEFT_EINVAL (bad spec, entry not nameable: message in err),
 * WEFT_EAGAIN, WEFT_ENOMEM, WEFT_ESYSTEM (fork server could not start:
 * message in err), -errno. */
int weft__child_start(weft__child *c, const weft__child_spec *spec, char *err, size_t errlen);

/* The owner saw WEFT__CTL_STATUS (pass its wstatus) or end of file on
 * c->ctl (pass NULL): records the exit. For FORK children it reaps with
 * waitpid (blocking until the child is gone); for server children at EOF
 * without a status it records SIGKILL (the server died). Idempotent. */
void weft__child_exited(weft__child *c, const int *wstatus);

/* Sends sig to the child if it has not been reaped: FORK children directly,
 * server children through the server (which signals only its live
 * children, so a recycled pid is never hit). WEFT_EALREADY once reaped. */
int weft__child_signal(weft__child *c, int sig);

/* Blocks until the child has exited, reading and discarding user messages
 * on c->ctl, at most timeout_ns. 0, WEFT_ETIMEDOUT. */
int weft__child_wait(weft__child *c, uint64_t timeout_ns);

/* Kills (SIGKILL) the child if it still runs, waits for its exit, closes
 * c->ctl. Idempotent. */
void weft__child_close(weft__child *c);

/* In a weft child: its end of the control socket; -1 elsewhere. */
int weft__child_ctl(void);

/* Describes a wait status: "exit status 3", "killed by signal 11
 * (Segmentation fault)". Returns buf. */
const char *weft__wstatus_text(int wstatus, char *buf, size_t len);

#endif /* WEFT_PROC_LAUNCH_H */
