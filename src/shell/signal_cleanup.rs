//! Cleaning up after SIGTERM/SIGINT/SIGHUP: temporary files and directories, an image
//! made by `--empty=create` and split files are registered while they exist, and so
//! are devices the run set up (a dm-crypt mapping, a loop device) with the action that
//! takes them down; when a terminating signal arrives the devices are taken down
//! (newest first), the paths removed, and the process exits with 128+signal.
//!
//! Global state by necessity: a signal can arrive anywhere, so the registry must be
//! reachable without a handle. It is only touched through [`track`] guards and the
//! signal thread started once, on the first registration.
//!
//! The target itself is never restored: until the partition table is written last,
//! an interrupted run has only written into space the old table does not use.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static TRACKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A way to take down a device the run set up.
type UndoAction = Box<dyn Fn() + Send>;

static UNDO: Mutex<Vec<(u64, UndoAction)>> = Mutex::new(Vec::new());
static NEXT_UNDO: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Keeps an action registered to run on a signal until dropped (dropping does not run
/// it; the device's owner takes it down itself).
pub struct Undo(u64);

impl std::fmt::Debug for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Undo({})", self.0)
    }
}

/// Registers `action` (deactivate a mapping, detach a loop device) to run if the run is
/// killed while the returned guard lives.
pub fn on_signal(action: UndoAction) -> Undo {
    INSTALL.call_once(install);
    let id = NEXT_UNDO.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut list) = UNDO.lock() {
        list.push((id, action));
    }
    Undo(id)
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Ok(mut list) = UNDO.lock() {
            list.retain(|(id, _)| *id != self.0);
        }
    }
}

/// Runs the registered undo actions, newest first (a mapping before its loop device).
fn undo_all() {
    let list = match UNDO.lock() {
        Ok(list) => list,
        Err(poisoned) => poisoned.into_inner(),
    };
    run_newest_first(&list);
}

fn run_newest_first(list: &[(u64, UndoAction)]) {
    for (_, action) in list.iter().rev() {
        action();
    }
}

/// Keeps `path` registered for removal on a signal until dropped (dropping does not
/// remove the path; its owner does that).
#[derive(Debug)]
pub struct Tracked(PathBuf);

static INSTALL: std::sync::Once = std::sync::Once::new();

/// Registers `path` (file or directory) for removal if the run is killed. The first
/// registration starts the signal thread: a run that never creates anything (a
/// plan, a dry run) does not pay for it.
pub fn track(path: &Path) -> Tracked {
    INSTALL.call_once(install);
    if let Ok(mut list) = TRACKED.lock() {
        list.push(path.to_path_buf());
    }
    Tracked(path.to_path_buf())
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Ok(mut list) = TRACKED.lock()
            && let Some(i) = list.iter().rposition(|p| *p == self.0)
        {
            list.remove(i);
        }
    }
}

fn remove_all_tracked() {
    let paths = match TRACKED.lock() {
        Ok(list) => list.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    remove_paths(&paths);
}

/// Removes files and directory trees, newest first; missing paths are fine.
fn remove_paths(paths: &[PathBuf]) {
    for path in paths.iter().rev() {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(path);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
fn is_tracked(path: &Path) -> bool {
    TRACKED
        .lock()
        .is_ok_and(|list| list.iter().any(|p| p == path))
}

/// Blocks the terminating signals in the calling thread and every thread started
/// later, and starts the thread that waits for them. repart starts no other threads
/// (mkfs tools are processes), so calling it from [`track`] is early enough.
/// Child processes start with an empty signal mask (std resets it), so mkfs tools
/// still die from signals as usual.
fn install() {
    // SAFETY: plain sigset manipulation on a local, then pthread_sigmask on the
    // calling thread; no pointers escape.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut sig: libc::c_int = 0;
            // SAFETY: sigwait on a set we own; the signals are blocked in all threads.
            if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                undo_all();
                remove_all_tracked();
                // SAFETY: exiting without unwinding is the point: other threads may be
                // in the middle of anything.
                unsafe { libc::_exit(128 + sig) };
            }
        });
    if spawned.is_err() {
        // Without the thread, restore default signal handling rather than ignoring them.
        // SAFETY: as above.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_register_and_unregister() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let guard = track(&path);
        assert!(is_tracked(&path));
        drop(guard);
        assert!(!is_tracked(&path));
    }

    #[test]
    fn undo_actions_run_newest_first_while_registered() {
        use std::sync::{Arc, Mutex};
        let registered = |wanted: u64| UNDO.lock().unwrap().iter().any(|(id, _)| *id == wanted);
        let guard = on_signal(Box::new(|| {}));
        let id = guard.0;
        assert!(registered(id));
        drop(guard);
        assert!(!registered(id));
        // Running them (not the global list: other tests' devices are on it).
        let order = Arc::new(Mutex::new(Vec::new()));
        let (a, b) = (order.clone(), order.clone());
        let list: Vec<(u64, UndoAction)> = vec![
            (1, Box::new(move || a.lock().unwrap().push(1))),
            (2, Box::new(move || b.lock().unwrap().push(2))),
        ];
        run_newest_first(&list);
        assert_eq!(*order.lock().unwrap(), [2, 1]);
    }

    #[test]
    fn removal_takes_files_and_trees() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let sub = dir.path().join("d");
        std::fs::create_dir_all(sub.join("e")).unwrap();
        remove_paths(&[file.clone(), sub.clone(), dir.path().join("missing")]);
        assert!(!file.exists() && !sub.exists());
    }
}
