//! The tpm2-tss stack (libtss2-esys, -mu, -rc and a TCTI driver), loaded with dlopen on
//! first use like upstream does, so repart neither links against it nor needs it
//! installed unless a partition is sealed to a TPM. Only plain integers, byte buffers
//! and opaque pointers cross the boundary: structures go in and out in TPM wire format
//! through libtss2-mu's (un)marshal functions, so no C layout is mirrored here except
//! the TCTI info record.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;

use crate::shell::dlopen::Library;

/// An Esys object handle (ESYS_TR).
pub type Tr = u32;
/// ESYS_TR_NONE.
pub const TR_NONE: Tr = 0xfff;
/// ESYS_TR_PASSWORD (the empty password session).
pub const TR_PASSWORD: Tr = 0x0ff;
/// ESYS_TR_RH_OWNER (the storage hierarchy).
pub const TR_RH_OWNER: Tr = 0x101;

/// TPM2_RC_INITIALIZE: TPM2_Startup was already run.
const RC_INITIALIZE: u32 = 0x100;

/// Why the TPM2 stack could not be used: the text the user sees, and the errno
/// upstream fails with (its "Failed to encrypt device: %m" line shows that one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TssError {
    /// The message.
    pub message: String,
    /// The errno.
    pub errno: i32,
}

impl TssError {
    /// A failure of the TPM, its driver or the TSS libraries: upstream reports all of
    /// these as ENOTRECOVERABLE.
    pub fn tpm(message: impl Into<String>) -> TssError {
        TssError {
            message: message.into(),
            errno: libc::ENOTRECOVERABLE,
        }
    }

    /// A request that cannot be met (EINVAL).
    pub fn invalid(message: impl Into<String>) -> TssError {
        TssError {
            message: message.into(),
            errno: libc::EINVAL,
        }
    }

    /// A bare errno, shown as its text (upstream logs the reason at debug level).
    pub fn errno(errno: i32) -> TssError {
        TssError {
            message: crate::shell::disk::strerror(&std::io::Error::from_raw_os_error(errno)),
            errno,
        }
    }
}

/// The largest C structure we let libtss2-mu fill (TPM2B_PRIVATE is 1552 bytes).
const OPAQUE_WORDS: usize = 1024;

/// Room for one TSS C structure, filled by an unmarshal function.
pub struct Opaque(Box<[u64; OPAQUE_WORDS]>);

impl Opaque {
    fn ptr(&self) -> *const c_void {
        self.0.as_ptr().cast()
    }
}

type Rc = u32;
type Ctx = *mut c_void;
type UnmarshalFn = unsafe extern "C" fn(*const u8, usize, *mut usize, *mut c_void) -> Rc;
type MarshalFn = unsafe extern "C" fn(*const c_void, *mut u8, usize, *mut usize) -> Rc;

/// The TCTI driver's description (TSS2_TCTI_INFO).
#[repr(C)]
struct TctiInfo {
    version: u32,
    name: *const c_char,
    description: *const c_char,
    config_help: *const c_char,
    init: unsafe extern "C" fn(*mut c_void, *mut usize, *const c_char) -> Rc,
}

macro_rules! esys_fns {
    ($($name:ident : fn($($arg:ty),*) $(-> $ret:ty)?;)*) => {
        /// The Esys functions repart calls.
        #[allow(non_snake_case)]
        struct EsysFns { $($name: unsafe extern "C" fn($($arg),*) $(-> $ret)?,)* }
        impl EsysFns {
            fn load(dl: &Library) -> Result<Self, String> {
                Ok(Self { $(
                    // SAFETY: the symbol has this C signature in libtss2-esys.so.0.
                    $name: unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($arg),*) $(-> $ret)?>(dl.symbol(stringify!($name))?) },
                )* })
            }
        }
    };
}

esys_fns! {
    Esys_Initialize: fn(*mut Ctx, *mut c_void, *mut c_void) -> Rc;
    Esys_Startup: fn(Ctx, u16) -> Rc;
    Esys_Finalize: fn(*mut Ctx);
    Esys_Free: fn(*mut c_void);
    Esys_GetCapability: fn(Ctx, Tr, Tr, Tr, u32, u32, u32, *mut u8, *mut *mut c_void) -> Rc;
    Esys_TR_FromTPMPublic: fn(Ctx, u32, Tr, Tr, Tr, *mut Tr) -> Rc;
    Esys_CreatePrimary: fn(Ctx, Tr, Tr, Tr, Tr, *const c_void, *const c_void, *const c_void, *const c_void, *mut Tr, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void) -> Rc;
    Esys_EvictControl: fn(Ctx, Tr, Tr, Tr, Tr, Tr, u32, *mut Tr) -> Rc;
    Esys_StartAuthSession: fn(Ctx, Tr, Tr, Tr, Tr, Tr, *const c_void, u8, *const c_void, u16, *mut Tr) -> Rc;
    Esys_TRSess_SetAttributes: fn(Ctx, Tr, u8, u8) -> Rc;
    Esys_PCR_Read: fn(Ctx, Tr, Tr, Tr, *const c_void, *mut u32, *mut *mut c_void, *mut *mut c_void) -> Rc;
    Esys_Create: fn(Ctx, Tr, Tr, Tr, Tr, *const c_void, *const c_void, *const c_void, *const c_void, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void) -> Rc;
    Esys_ReadPublic: fn(Ctx, Tr, Tr, Tr, Tr, *mut *mut c_void, *mut *mut c_void, *mut *mut c_void) -> Rc;
    Esys_TR_Serialize: fn(Ctx, Tr, *mut *mut u8, *mut usize) -> Rc;
    Esys_FlushContext: fn(Ctx, Tr) -> Rc;
}

/// The loaded libraries: Esys, the marshalling library and the error decoder.
pub struct Tss {
    esys: EsysFns,
    mu: Library,
    decode: unsafe extern "C" fn(Rc) -> *const c_char,
    _dls: Vec<Library>,
}

impl Tss {
    /// Loads libtss2-esys.so.0, libtss2-rc.so.0 and libtss2-mu.so.0.
    pub fn load() -> Result<Tss, TssError> {
        let not_installed = |lib: &str, e: String| TssError {
            message: format!(
                "TPM2 support not installed: {lib} cannot be loaded ({e}). Install the tpm2-tss libraries (Debian: libtss2-esys-3.0.2-0, libtss2-rc0, libtss2-mu-4.0.1-0 or libtss2-mu0)."
            ),
            errno: libc::EOPNOTSUPP,
        };
        let esys_dl = Library::open("libtss2-esys.so.0")
            .map_err(|e| not_installed("libtss2-esys.so.0", e))?;
        let rc_dl =
            Library::open("libtss2-rc.so.0").map_err(|e| not_installed("libtss2-rc.so.0", e))?;
        let mu =
            Library::open("libtss2-mu.so.0").map_err(|e| not_installed("libtss2-mu.so.0", e))?;
        let esys = EsysFns::load(&esys_dl).map_err(|e| not_installed("libtss2-esys.so.0", e))?;
        let decode = rc_dl
            .symbol("Tss2_RC_Decode")
            .map_err(|e| not_installed("libtss2-rc.so.0", e))?;
        Ok(Tss {
            esys,
            mu,
            // SAFETY: Tss2_RC_Decode is `const char *(TSS2_RC)`.
            decode: unsafe {
                std::mem::transmute::<*mut c_void, unsafe extern "C" fn(Rc) -> *const c_char>(
                    decode,
                )
            },
            _dls: vec![esys_dl, rc_dl],
        })
    }

    /// The library's text for a return code.
    pub fn decode(&self, rc: u32) -> String {
        // SAFETY: returns a static or thread-local NUL-terminated string.
        let p = unsafe { (self.decode)(rc) };
        if p.is_null() {
            return format!("0x{rc:x}");
        }
        // SAFETY: non-null, NUL-terminated.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// How many bytes of `bytes` libtss2-mu's unmarshal function of `ty` takes (its
    /// check of a structure from a file, as upstream runs it: an empty buffer goes in as
    /// NULL, which the library logs).
    pub fn unmarshalled_len(&self, ty: &str, bytes: &[u8]) -> Result<usize, TssError> {
        self.unmarshal_counted(ty, bytes).map(|(_, len)| len)
    }

    /// Wire bytes → the C structure `ty` (e.g. "TPM2B_PUBLIC").
    pub fn unmarshal(&self, ty: &str, bytes: &[u8]) -> Result<Opaque, TssError> {
        self.unmarshal_counted(ty, bytes).map(|(out, _)| out)
    }

    /// Both of the above: the structure and how many bytes it took.
    fn unmarshal_counted(&self, ty: &str, bytes: &[u8]) -> Result<(Opaque, usize), TssError> {
        let f = self
            .mu
            .symbol(&format!("Tss2_MU_{ty}_Unmarshal"))
            .map_err(TssError::tpm)?;
        // SAFETY: the symbol has the Unmarshal signature of libtss2-mu.
        let f: UnmarshalFn = unsafe { std::mem::transmute::<*mut c_void, UnmarshalFn>(f) };
        let out = Opaque(Box::new([0; OPAQUE_WORDS]));
        let mut off = 0usize;
        let data = if bytes.is_empty() {
            ptr::null()
        } else {
            bytes.as_ptr()
        };
        // SAFETY: `data` is NULL or `bytes`; the destination is larger than any
        // structure we unmarshal.
        let rc = unsafe { f(data, bytes.len(), &mut off, out.ptr() as *mut c_void) };
        if rc != 0 {
            return Err(TssError::tpm(format!(
                "Failed to unmarshal {ty}: {}",
                self.decode(rc)
            )));
        }
        Ok((out, off))
    }

    /// The C structure `ty` at `p` (owned by Esys, freed here) → wire bytes.
    fn marshal_and_free(&self, ty: &str, p: *mut c_void) -> Result<Vec<u8>, TssError> {
        let r = self.marshal(ty, p);
        // SAFETY: p was allocated by Esys.
        unsafe { (self.esys.Esys_Free)(p) };
        r
    }

    fn marshal(&self, ty: &str, p: *const c_void) -> Result<Vec<u8>, TssError> {
        let f = self
            .mu
            .symbol(&format!("Tss2_MU_{ty}_Marshal"))
            .map_err(TssError::tpm)?;
        // SAFETY: the symbol has the Marshal signature of libtss2-mu.
        let f: MarshalFn = unsafe { std::mem::transmute::<*mut c_void, MarshalFn>(f) };
        let mut buf = vec![0u8; OPAQUE_WORDS * 8];
        let mut off = 0usize;
        // SAFETY: p points to a valid `ty`; the buffer is large enough for any of them.
        let rc = unsafe { f(p, buf.as_mut_ptr(), buf.len(), &mut off) };
        if rc != 0 {
            return Err(TssError::tpm(format!(
                "Failed to marshal {ty}: {}",
                self.decode(rc)
            )));
        }
        buf.truncate(off);
        Ok(buf)
    }
}

/// An open connection to a TPM through a TCTI driver.
pub struct Esys<'a> {
    tss: &'a Tss,
    ctx: Ctx,
    _tcti: Option<(Library, Box<[u64]>)>,
}

/// Where the TPM is: upstream's `--tpm2-device=` syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tcti {
    /// `DRIVER:PARAMS` (libtss2-tcti-DRIVER.so.0 with PARAMS), or a device node.
    Driver {
        /// The driver name.
        driver: String,
        /// Its configuration string.
        params: String,
    },
    /// tpm2-tss' own default choice (`SYSTEMD_TPM2_DEVICE` set but empty).
    LibraryDefault,
}

impl Tcti {
    /// `--tpm2-device=` (None: auto): an explicit value, else `$SYSTEMD_TPM2_DEVICE`,
    /// else the kernel's resource manager /dev/tpmrm0.
    pub fn resolve(device: Option<&str>, env: Option<&str>) -> Result<Tcti, TssError> {
        let spec = match (device, env) {
            (Some(d), _) => d.to_string(),
            (None, Some("")) => return Ok(Tcti::LibraryDefault),
            (None, Some(e)) => e.to_string(),
            (None, None) => "device:/dev/tpmrm0".to_string(),
        };
        if let Some((driver, params)) = spec.split_once(':') {
            if driver.is_empty() {
                return Err(TssError::invalid("TPM2 driver name is empty, refusing."));
            }
            if driver.contains('/') || driver == "." || driver == ".." {
                return Err(TssError::invalid(format!(
                    "TPM2 driver name '{driver}' not valid, refusing."
                )));
            }
            return Ok(Tcti::Driver {
                driver: driver.into(),
                params: params.into(),
            });
        }
        if spec.starts_with('/') {
            return Ok(Tcti::Driver {
                driver: "device".into(),
                params: spec,
            });
        }
        Err(TssError::invalid("Invalid TPM2 driver string, refusing."))
    }
}

impl<'a> Esys<'a> {
    /// The libraries this context uses.
    pub fn tss(&self) -> &'a Tss {
        self.tss
    }

    /// Loads the TCTI driver, connects and starts the TPM up (already started is fine).
    pub fn open(tss: &'a Tss, tcti: &Tcti) -> Result<Esys<'a>, TssError> {
        let mut tcti_ctx = None;
        if let Tcti::Driver { driver, params } = tcti {
            let lib = format!("libtss2-tcti-{driver}.so.0");
            let dl = Library::open(&lib).map_err(|e| {
                // Upstream's words: the library only at debug level, ENOPKG.
                tracing::debug!("Failed to load {lib}: {e}");
                TssError {
                    message: "TPM TCTI driver not available.".into(),
                    errno: libc::ENOPKG,
                }
            })?;
            let info = dl.symbol("Tss2_Tcti_Info").map_err(|e| {
                TssError::tpm(format!(
                    "Failed to find TCTI info symbol Tss2_Tcti_Info: {e}"
                ))
            })?;
            // SAFETY: Tss2_Tcti_Info is `const TSS2_TCTI_INFO *(void)`.
            let info: unsafe extern "C" fn() -> *const TctiInfo =
                unsafe { std::mem::transmute(info) };
            // SAFETY: returns a pointer to a static record or NULL.
            let info = unsafe { info().as_ref() }
                .ok_or_else(|| TssError::tpm("Unable to get TCTI info data."))?;
            let mut size = 0usize;
            // SAFETY: the documented size query (NULL context).
            let rc = unsafe { (info.init)(ptr::null_mut(), &mut size, ptr::null()) };
            if rc != 0 {
                return Err(TssError::tpm(format!(
                    "Failed to initialize TCTI context: {}",
                    tss.decode(rc)
                )));
            }
            let mut mem = vec![0u64; size.div_ceil(8).max(1)].into_boxed_slice();
            let conf = CString::new(params.as_str())
                .map_err(|_| TssError::invalid("Invalid TPM2 driver string, refusing."))?;
            // SAFETY: a zeroed, 8-aligned buffer of the size the driver asked for.
            let rc = unsafe { (info.init)(mem.as_mut_ptr().cast(), &mut size, conf.as_ptr()) };
            if rc != 0 {
                return Err(TssError::tpm(format!(
                    "Failed to initialize TCTI context: {}",
                    tss.decode(rc)
                )));
            }
            tcti_ctx = Some((dl, mem));
        }
        let tcti_ptr = tcti_ctx
            .as_mut()
            .map_or(ptr::null_mut(), |(_, m)| m.as_mut_ptr().cast());
        let mut ctx: Ctx = ptr::null_mut();
        // SAFETY: out-pointer for the context; the TCTI context outlives it (field order).
        let rc = unsafe { (tss.esys.Esys_Initialize)(&mut ctx, tcti_ptr, ptr::null_mut()) };
        if rc != 0 {
            return Err(TssError::tpm(format!(
                "Failed to initialize TPM context: {}",
                tss.decode(rc)
            )));
        }
        let esys = Esys {
            tss,
            ctx,
            _tcti: tcti_ctx,
        };
        // SAFETY: valid context.
        let rc = unsafe { (tss.esys.Esys_Startup)(esys.ctx, 0) };
        if rc != 0 && rc != RC_INITIALIZE {
            return Err(TssError::tpm(format!(
                "Failed to start up TPM: {}",
                tss.decode(rc)
            )));
        }
        Ok(esys)
    }

    fn check(&self, what: &str, rc: Rc) -> Result<(), TssError> {
        if rc == 0 {
            Ok(())
        } else {
            Err(TssError::tpm(format!("{what}: {}", self.tss.decode(rc))))
        }
    }

    /// TPM2_GetCapability; the marshalled TPMS_CAPABILITY_DATA.
    pub fn get_capability(&self, cap: u32, property: u32, count: u32) -> Result<Vec<u8>, TssError> {
        let mut more = 0u8;
        let mut data = ptr::null_mut();
        // SAFETY: valid context and out-pointers.
        let rc = unsafe {
            (self.tss.esys.Esys_GetCapability)(
                self.ctx, TR_NONE, TR_NONE, TR_NONE, cap, property, count, &mut more, &mut data,
            )
        };
        self.check("Failed to get TPM2 capability", rc)?;
        self.tss.marshal_and_free("TPMS_CAPABILITY_DATA", data)
    }

    /// An Esys handle for an existing TPM object (a persistent key).
    pub fn from_tpm_public(&self, handle: u32) -> Result<Tr, TssError> {
        let mut tr = TR_NONE;
        // SAFETY: valid context and out-pointer.
        let rc = unsafe {
            (self.tss.esys.Esys_TR_FromTPMPublic)(
                self.ctx, handle, TR_NONE, TR_NONE, TR_NONE, &mut tr,
            )
        };
        self.check(&format!("Failed to read TPM2 handle 0x{handle:x}"), rc)?;
        Ok(tr)
    }

    /// TPM2_ReadPublic: the marshalled TPM2B_PUBLIC of a loaded object.
    pub fn read_public(&self, tr: Tr) -> Result<Vec<u8>, TssError> {
        let mut public = ptr::null_mut();
        // SAFETY: valid context; the name outputs are optional.
        let rc = unsafe {
            (self.tss.esys.Esys_ReadPublic)(
                self.ctx,
                tr,
                TR_NONE,
                TR_NONE,
                TR_NONE,
                &mut public,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        self.check("Failed to read public key", rc)?;
        self.tss.marshal_and_free("TPM2B_PUBLIC", public)
    }

    /// The inputs TPM2_CreatePrimary and TPM2_Create share: the marshalled
    /// TPM2B_SENSITIVE_CREATE and TPM2B_PUBLIC template, with empty outside info and
    /// an empty creation PCR selection.
    fn creation_inputs(&self, sensitive: &[u8], template: &[u8]) -> Result<[Opaque; 4], TssError> {
        Ok([
            self.tss.unmarshal("TPM2B_SENSITIVE_CREATE", sensitive)?,
            self.tss.unmarshal("TPM2B_PUBLIC", template)?,
            self.tss.unmarshal("TPM2B_DATA", &[0, 0])?,
            self.tss.unmarshal("TPML_PCR_SELECTION", &[0, 0, 0, 0])?,
        ])
    }

    /// TPM2_CreatePrimary in the owner hierarchy from a marshalled TPM2B_PUBLIC template.
    pub fn create_primary(&self, template: &[u8]) -> Result<Tr, TssError> {
        let [sens, public, outside, pcrs] = self.creation_inputs(&[0, 4, 0, 0, 0, 0], template)?;
        let mut tr = TR_NONE;
        // SAFETY: valid context, inputs and out-pointer; optional outputs are NULL.
        let rc = unsafe {
            (self.tss.esys.Esys_CreatePrimary)(
                self.ctx,
                TR_RH_OWNER,
                TR_PASSWORD,
                TR_NONE,
                TR_NONE,
                sens.ptr(),
                public.ptr(),
                outside.ptr(),
                pcrs.ptr(),
                &mut tr,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        self.check("Failed to generate primary key in TPM", rc)?;
        Ok(tr)
    }

    /// TPM2_EvictControl: makes a transient key persistent at `handle`.
    pub fn persist(&self, tr: Tr, handle: u32) -> Result<Tr, TssError> {
        let mut out = TR_NONE;
        // SAFETY: valid context, handles and out-pointer.
        let rc = unsafe {
            (self.tss.esys.Esys_EvictControl)(
                self.ctx,
                TR_RH_OWNER,
                tr,
                TR_PASSWORD,
                TR_NONE,
                TR_NONE,
                handle,
                &mut out,
            )
        };
        self.check("Failed to persist SRK within TPM", rc)?;
        Ok(out)
    }

    /// An HMAC session salted with `key`, encrypting the first parameter both ways
    /// (AES-128-CFB), so the secret never crosses the bus in clear.
    pub fn encryption_session(&self, key: Tr) -> Result<Tr, TssError> {
        let sym = self
            .tss
            .unmarshal("TPMT_SYM_DEF", &crate::pure::tpm2::marshal::aes128_cfb())?;
        let mut s = TR_NONE;
        // SAFETY: valid context, inputs and out-pointer; no caller nonce.
        let rc = unsafe {
            (self.tss.esys.Esys_StartAuthSession)(
                self.ctx,
                key,
                TR_NONE,
                TR_NONE,
                TR_NONE,
                TR_NONE,
                ptr::null(),
                0x00,
                sym.ptr(),
                crate::pure::tpm2::marshal::alg::SHA256,
                &mut s,
            )
        };
        self.check("Failed to open session in TPM", rc)?;
        // decrypt | encrypt | continueSession
        let attrs = 0x20 | 0x40 | 0x01;
        // SAFETY: valid context and session.
        let rc = unsafe { (self.tss.esys.Esys_TRSess_SetAttributes)(self.ctx, s, attrs, 0xff) };
        self.check("Failed to configure TPM session", rc)?;
        Ok(s)
    }

    /// TPM2_PCR_Read of a marshalled TPML_PCR_SELECTION: (what was read, the values).
    pub fn pcr_read(&self, selection: &[u8]) -> Result<(Vec<u8>, Vec<u8>), TssError> {
        let sel = self.tss.unmarshal("TPML_PCR_SELECTION", selection)?;
        let mut counter = 0u32;
        let mut out_sel = ptr::null_mut();
        let mut values = ptr::null_mut();
        // SAFETY: valid context, input and out-pointers.
        let rc = unsafe {
            (self.tss.esys.Esys_PCR_Read)(
                self.ctx,
                TR_NONE,
                TR_NONE,
                TR_NONE,
                sel.ptr(),
                &mut counter,
                &mut out_sel,
                &mut values,
            )
        };
        self.check("Failed to read PCRs from TPM", rc)?;
        let s = self.tss.marshal_and_free("TPML_PCR_SELECTION", out_sel);
        let v = self.tss.marshal_and_free("TPML_DIGEST", values);
        Ok((s?, v?))
    }

    /// TPM2_Create under `parent` through `session`: (TPM2B_PRIVATE, TPM2B_PUBLIC).
    pub fn create(
        &self,
        parent: Tr,
        session: Tr,
        sensitive: &[u8],
        template: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), TssError> {
        let [sens, public, outside, pcrs] = self.creation_inputs(sensitive, template)?;
        let mut private = ptr::null_mut();
        let mut out_public = ptr::null_mut();
        // SAFETY: valid context, inputs and out-pointers; optional outputs are NULL.
        let rc = unsafe {
            (self.tss.esys.Esys_Create)(
                self.ctx,
                parent,
                session,
                TR_NONE,
                TR_NONE,
                sens.ptr(),
                public.ptr(),
                outside.ptr(),
                pcrs.ptr(),
                &mut private,
                &mut out_public,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        self.check("Failed to generate sealed object in TPM", rc)?;
        let p = self.tss.marshal_and_free("TPM2B_PRIVATE", private);
        let q = self.tss.marshal_and_free("TPM2B_PUBLIC", out_public);
        Ok((p?, q?))
    }

    /// Esys_TR_Serialize: the handle with its name and public area, as upstream stores
    /// the parent key in the token.
    pub fn serialize(&self, tr: Tr) -> Result<Vec<u8>, TssError> {
        let mut buf = ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: valid context and out-pointers.
        let rc = unsafe { (self.tss.esys.Esys_TR_Serialize)(self.ctx, tr, &mut buf, &mut size) };
        self.check("Failed to serialize primary key", rc)?;
        // SAFETY: Esys returned `size` bytes at `buf`.
        let v = unsafe { std::slice::from_raw_parts(buf, size) }.to_vec();
        // SAFETY: allocated by Esys.
        unsafe { (self.tss.esys.Esys_Free)(buf.cast()) };
        Ok(v)
    }

    /// Releases a transient object or session (errors ignored: cleanup only).
    pub fn flush(&self, tr: Tr) {
        // SAFETY: valid context.
        let _ = unsafe { (self.tss.esys.Esys_FlushContext)(self.ctx, tr) };
    }
}

impl Drop for Esys<'_> {
    fn drop(&mut self) {
        // SAFETY: the context was initialized and is finalized once; the TCTI context
        // (dropped after this) is only freed, like upstream does.
        unsafe { (self.tss.esys.Esys_Finalize)(&mut self.ctx) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_strings() {
        let d = |driver: &str, params: &str| Tcti::Driver {
            driver: driver.into(),
            params: params.into(),
        };
        assert_eq!(Tcti::resolve(None, None), Ok(d("device", "/dev/tpmrm0")));
        assert_eq!(Tcti::resolve(None, Some("")), Ok(Tcti::LibraryDefault));
        assert_eq!(
            Tcti::resolve(Some("/dev/tpm0"), None),
            Ok(d("device", "/dev/tpm0"))
        );
        assert_eq!(
            Tcti::resolve(Some("swtpm:path=/s"), Some("x:y")),
            Ok(d("swtpm", "path=/s"))
        );
        assert_eq!(Tcti::resolve(None, Some("mssim:")), Ok(d("mssim", "")));
        assert!(Tcti::resolve(Some(":x"), None).is_err());
        assert!(Tcti::resolve(Some("tpm0"), None).is_err());
        assert!(Tcti::resolve(Some("../x:y"), None).is_err());
    }
}
