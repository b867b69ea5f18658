//! The application's conversation function: the one `pam_conv` callback of
//! the workspace. It answers every prompt (echo on or off) with one secret
//! and records the informational and error messages the modules show, so
//! that a caller can count the prompts and check what a user would see.

use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pam_sys::{
    pam_message, pam_response, PAM_BUF_ERR, PAM_CONV_ERR, PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF,
    PAM_PROMPT_ECHO_ON, PAM_SUCCESS, PAM_TEXT_INFO,
};

/// More messages in one call than any module sends: refused as malformed.
const MAX_MESSAGES: usize = 32;

/// A message a module showed through the conversation (not a prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `PAM_ERROR_MSG` or `PAM_TEXT_INFO`.
    pub style: c_int,
    pub text: String,
}

/// Answers every prompt with the secret it holds; see the module docs.
/// The secret is wiped when the conversation is dropped.
pub struct Conversation {
    secret: CString,
    prompts: Cell<usize>,
    messages: RefCell<Vec<Message>>,
}

impl Conversation {
    /// A conversation answering `secret`; `None` if it holds a NUL byte,
    /// which a C string (and so a PAM answer) cannot carry.
    pub fn answering(secret: impl Into<Vec<u8>>) -> Option<Conversation> {
        Some(Conversation {
            secret: CString::new(secret).ok()?,
            prompts: Cell::new(0),
            messages: RefCell::new(Vec::new()),
        })
    }

    /// How many prompts the modules sent so far.
    pub fn prompts(&self) -> usize {
        self.prompts.get()
    }

    /// The messages (not prompts) the modules sent so far.
    pub fn messages(&self) -> Vec<Message> {
        self.messages.borrow().clone()
    }

    /// The `pam_conv` to hand to `pam_start`: libpam copies the struct,
    /// and its `appdata_ptr` points at `self`, which the caller keeps alive
    /// (and in place) until `pam_end` ([`crate::Transaction`] ties the two
    /// lifetimes together).
    pub(crate) fn as_pam_conv(&self) -> pam_sys::pam_conv {
        pam_sys::pam_conv {
            conv: Some(converse),
            appdata_ptr: self as *const Conversation as *mut c_void,
        }
    }

    /// One answer: the reply to a prompt, or `None` for a message.
    fn reply(&self, style: c_int, text: Option<&CStr>) -> Option<&CStr> {
        match style {
            PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON => {
                self.prompts.set(self.prompts.get() + 1);
                Some(&self.secret)
            }
            PAM_ERROR_MSG | PAM_TEXT_INFO => {
                let text = text.map_or_else(String::new, |t| t.to_string_lossy().into_owned());
                self.messages.borrow_mut().push(Message { style, text });
                None
            }
            // Radio buttons, binary prompts: no answer.
            _ => None,
        }
    }
}

impl Drop for Conversation {
    fn drop(&mut self) {
        let secret = std::mem::take(&mut self.secret).into_bytes_with_nul();
        wipe(secret);
    }
}

/// Overwrites a buffer with zeros before it is freed; volatile, so that the
/// wipe of memory about to be freed is not optimised away.
fn wipe(mut bytes: Vec<u8>) {
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference into `bytes`.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
}

/// The `pam_conv.conv` callback. libpam frees the answers with free(), so
/// they are malloc'ed here (calloc for the array, strdup for each text).
unsafe extern "C" fn converse(
    num_msg: c_int,
    msg: *mut *const pam_message,
    resp: *mut *mut pam_response,
    appdata: *mut c_void,
) -> c_int {
    // A panic (a poisoned RefCell, say) must not unwind into libpam.
    catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: libpam passes `num_msg` message pointers and a place for
        // the answers; `appdata` is the Conversation `as_pam_conv` named,
        // alive until pam_end (the Transaction's borrow guarantees it).
        unsafe { answer_all(num_msg, msg, resp, appdata) }
    }))
    .unwrap_or(PAM_CONV_ERR)
}

/// # Safety
/// As for [`converse`]: the arguments are libpam's, `appdata` a live
/// [`Conversation`].
unsafe fn answer_all(
    num_msg: c_int,
    msg: *mut *const pam_message,
    resp: *mut *mut pam_response,
    appdata: *mut c_void,
) -> c_int {
    let n = match usize::try_from(num_msg) {
        Ok(n) if (1..=MAX_MESSAGES).contains(&n) => n,
        _ => return PAM_CONV_ERR,
    };
    if msg.is_null() || resp.is_null() || appdata.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: appdata is the Conversation of this transaction (see above).
    let conversation = unsafe { &*(appdata as *const Conversation) };
    // SAFETY: calloc of n zeroed answers (resp = NULL, resp_retcode = 0).
    let replies =
        unsafe { libc::calloc(n, std::mem::size_of::<pam_response>()) } as *mut pam_response;
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes an array of n message pointers.
        let m = unsafe { *msg.add(i) };
        if m.is_null() {
            continue;
        }
        // SAFETY: a non-NULL message from libpam, its text a C string or NULL.
        let (style, text) = unsafe {
            let text = (*m).msg;
            (
                (*m).msg_style,
                (!text.is_null()).then(|| CStr::from_ptr(text)),
            )
        };
        let Some(answer) = conversation.reply(style, text) else {
            continue;
        };
        // SAFETY: strdup of a valid C string; libpam frees the copy.
        let copy = unsafe { libc::strdup(answer.as_ptr()) };
        if copy.is_null() {
            // SAFETY: the first i answers and the array are ours to free.
            unsafe { free_replies(replies, i) };
            return PAM_BUF_ERR;
        }
        // SAFETY: i < n, inside the calloc'ed array.
        unsafe { (*replies.add(i)).resp = copy };
    }
    // SAFETY: resp is libpam's out-parameter, checked non-NULL above.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

/// Wipes and frees the first `n` answers and the array.
///
/// # Safety
/// `replies` is a calloc'ed array of at least `n` answers, each NULL or a
/// malloc'ed C string.
unsafe fn free_replies(replies: *mut pam_response, n: usize) {
    for i in 0..n {
        // SAFETY: inside the array (caller's contract).
        let text = unsafe { (*replies.add(i)).resp };
        if !text.is_null() {
            // SAFETY: a malloc'ed C string of ours, freed once.
            unsafe {
                let len = libc::strlen(text);
                std::ptr::write_bytes(text, 0, len);
                libc::free(text as *mut c_void);
            }
        }
    }
    // SAFETY: the calloc'ed array, freed once.
    unsafe { libc::free(replies as *mut c_void) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Calls the callback as libpam does, returns its code, the answers and
    /// frees them.
    fn call(
        conversation: &Conversation,
        messages: &[(c_int, &CStr)],
    ) -> (c_int, Vec<Option<String>>) {
        let owned: Vec<pam_message> = messages
            .iter()
            .map(|(style, text)| pam_message {
                msg_style: *style,
                msg: text.as_ptr(),
            })
            .collect();
        let mut pointers: Vec<*const pam_message> = owned.iter().map(|m| m as *const _).collect();
        let mut resp: *mut pam_response = std::ptr::null_mut();
        let conv = conversation.as_pam_conv();
        // SAFETY: the arguments are shaped as libpam shapes them.
        let rc = unsafe {
            (conv.conv.unwrap())(
                c_int::try_from(pointers.len()).unwrap(),
                pointers.as_mut_ptr(),
                &mut resp,
                conv.appdata_ptr,
            )
        };
        let mut answers = Vec::new();
        if rc == PAM_SUCCESS {
            for i in 0..pointers.len() {
                // SAFETY: the callback filled `pointers.len()` answers.
                let text = unsafe { (*resp.add(i)).resp };
                answers.push(
                    // SAFETY: NULL or a C string from strdup.
                    (!text.is_null()).then(|| {
                        unsafe { CStr::from_ptr(text) }
                            .to_string_lossy()
                            .into_owned()
                    }),
                );
            }
            // SAFETY: the array the callback allocated, with its answers.
            unsafe { free_replies(resp, pointers.len()) };
        }
        (rc, answers)
    }

    #[test]
    fn prompts_get_the_secret_and_messages_are_recorded() {
        let c = Conversation::answering("s3cret").unwrap();
        let (rc, answers) = call(
            &c,
            &[
                (PAM_TEXT_INFO, c"hello"),
                (PAM_PROMPT_ECHO_OFF, c"Password: "),
                (PAM_ERROR_MSG, c"refused"),
                (PAM_PROMPT_ECHO_ON, c"login: "),
            ],
        );
        assert_eq!(rc, PAM_SUCCESS);
        assert_eq!(
            answers,
            [None, Some("s3cret".into()), None, Some("s3cret".into())]
        );
        assert_eq!(c.prompts(), 2);
        assert_eq!(
            c.messages(),
            [
                Message {
                    style: PAM_TEXT_INFO,
                    text: "hello".into()
                },
                Message {
                    style: PAM_ERROR_MSG,
                    text: "refused".into()
                }
            ]
        );
    }

    #[test]
    fn malformed_calls_fail() {
        let c = Conversation::answering("x").unwrap();
        assert_eq!(call(&c, &[]).0, PAM_CONV_ERR);
        let many = vec![(PAM_TEXT_INFO, c"m"); MAX_MESSAGES + 1];
        assert_eq!(call(&c, &many).0, PAM_CONV_ERR);
        assert!(Conversation::answering(&b"a\0b"[..]).is_none());
    }
}
