//! [`ProofKey`] over Web Crypto: an ES256 key pair that
//! `crypto.subtle.generateKey` makes non-extractable, or the one the caller
//! passes (`dpop: { keyPair }`).
//!
//! With a store that outlives the page (`local`, `session`, an adapter) and
//! IndexedDB at hand (pages and browser workers), the pair is kept in
//! IndexedDB under the keeper's storage key, so a reload and the other tabs
//! of the origin sign with the key the tokens are bound to. IndexedDB keeps
//! a `CryptoKey` as the browser's own object, still non-extractable: the
//! private key never reaches JS or wasm memory. Elsewhere (Node, Deno,
//! workerd, memory storage) the pair lives as long as the keeper.

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, IdbDatabase, IdbRequest, IdbTransactionMode, SubtleCrypto};

use super::{get, scope, set};
use crate::core::dpop::PublicJwk;
use crate::core::error::Error;
use crate::platform::ProofKey;

/// The IndexedDB database and object store of persisted keys.
const DB: &str = "tokenkeeper";
const STORE: &str = "dpop-keys";

/// The ES256 key of one keeper.
#[derive(Debug)]
pub struct WebProofKey {
    /// The caller's `CryptoKeyPair`, if given.
    supplied: Option<JsValue>,
    /// The IndexedDB key to keep a made pair under, if it is kept.
    persist_as: Option<String>,
    /// The pair's load, shared by the callers that wait for it.
    loading: RefCell<Option<js_sys::Promise>>,
    /// The private key and the public JWK, once loaded.
    loaded: RefCell<Option<(CryptoKey, PublicJwk)>>,
    /// Whether the loaded pair outlives the page: the caller's, or kept in
    /// IndexedDB.
    lasting: Cell<bool>,
}

impl WebProofKey {
    /// The caller's pair (`dpop.keyPair`) when given, else one made on first
    /// use and, with `persist_as`, kept in IndexedDB where there is one.
    #[must_use]
    pub fn new(supplied: Option<JsValue>, persist_as: Option<String>) -> Self {
        Self {
            supplied,
            persist_as,
            loading: RefCell::new(None),
            loaded: RefCell::new(None),
            lasting: Cell::new(false),
        }
    }

    /// The private key and public JWK, loading the pair once.
    async fn key(&self) -> Result<(CryptoKey, PublicJwk), Error> {
        if let Some(loaded) = self.loaded.borrow().as_ref() {
            return Ok(loaded.clone());
        }
        let loading = self
            .loading
            .borrow_mut()
            .get_or_insert_with(|| {
                let (supplied, persist_as) = (self.supplied.clone(), self.persist_as.clone());
                wasm_bindgen_futures::future_to_promise(async move {
                    let (pair, kept) = match supplied {
                        Some(pair) => (pair, true),
                        None => load_or_make(persist_as.as_deref()).await?,
                    };
                    Ok(js_sys::Array::of2(&pair, &JsValue::from_bool(kept)).into())
                })
            })
            .clone();
        let pair = JsFuture::from(loading).await;
        let (pair, kept) = match pair {
            Ok(loaded) => {
                let loaded: js_sys::Array = loaded.unchecked_into();
                (loaded.get(0), loaded.get(1).is_truthy())
            }
            Err(_) => {
                // Let the next call try again (IndexedDB may be busy).
                *self.loading.borrow_mut() = None;
                return Err(unusable("cannot be made: WebCrypto refused ES256"));
            }
        };
        let private: CryptoKey = get(&pair, "privateKey")
            .dyn_into()
            .map_err(|_| unusable("must be a CryptoKeyPair"))?;
        let public: CryptoKey = get(&pair, "publicKey")
            .dyn_into()
            .map_err(|_| unusable("must be a CryptoKeyPair"))?;
        let jwk = export_jwk(&subtle()?, &public).await?;
        let loaded = (private, jwk);
        *self.loaded.borrow_mut() = Some(loaded.clone());
        self.lasting.set(kept);
        Ok(loaded)
    }
}

impl ProofKey for WebProofKey {
    async fn public_jwk(&self) -> Result<PublicJwk, Error> {
        self.key().await.map(|(_, jwk)| jwk)
    }

    fn outlives_page(&self) -> bool {
        self.lasting.get()
    }

    async fn sign(&self, input: &[u8]) -> Result<Vec<u8>, Error> {
        let (private, _) = self.key().await?;
        let algorithm = js_sys::Object::new();
        set(&algorithm, "name", &"ECDSA".into());
        set(&algorithm, "hash", &"SHA-256".into());
        let signed = subtle()?
            .sign_with_object_and_u8_array(&algorithm, &private, input)
            .map_err(|_| unusable("cannot sign: WebCrypto refused the key"))?;
        let signature = JsFuture::from(signed)
            .await
            .map_err(|_| unusable("cannot sign: WebCrypto refused the key"))?;
        Ok(js_sys::Uint8Array::new(&signature).to_vec())
    }
}

fn unusable(reason: &'static str) -> Error {
    Error::DpopProof {
        field: "key",
        reason,
    }
}

/// `crypto.subtle`, missing outside a secure context.
fn subtle() -> Result<SubtleCrypto, Error> {
    scope()
        .crypto()
        .ok()
        .filter(|c| c.is_object())
        .map(|c| c.subtle())
        .filter(|s| s.is_object())
        .ok_or_else(|| unusable("cannot be made: WebCrypto is unavailable"))
}

/// The public key as a JWK (`exportKey("jwk")`), checked to be P-256.
async fn export_jwk(subtle: &SubtleCrypto, public: &CryptoKey) -> Result<PublicJwk, Error> {
    let refused = || unusable("must be an ECDSA P-256 key pair");
    let exported = subtle.export_key("jwk", public).map_err(|_| refused())?;
    let jwk = JsFuture::from(exported).await.map_err(|_| refused())?;
    let text = js_sys::JSON::stringify(&jwk)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(refused)?;
    let value = serde_json::from_slice(text.as_bytes()).map_err(|_| refused())?;
    PublicJwk::from_jwk(&value)
}

/// A new non-extractable ES256 pair.
async fn make() -> Result<JsValue, JsValue> {
    let algorithm = js_sys::Object::new();
    set(&algorithm, "name", &"ECDSA".into());
    set(&algorithm, "namedCurve", &"P-256".into());
    let usages: js_sys::Array = ["sign", "verify"]
        .into_iter()
        .map(JsValue::from_str)
        .collect();
    let subtle = subtle().map_err(|_| JsValue::UNDEFINED)?;
    JsFuture::from(subtle.generate_key_with_object(&algorithm, false, &usages)?).await
}

/// The pair kept under `name` in IndexedDB, made and kept there first if
/// there is none; a new pair in memory without IndexedDB or a `name`. With
/// whether it is kept.
async fn load_or_make(name: Option<&str>) -> Result<(JsValue, bool), JsValue> {
    let Some(name) = name else {
        return Ok((make().await?, false));
    };
    let Some(factory) = scope().indexed_db().ok().flatten() else {
        return Ok((make().await?, false));
    };
    match kept(&factory, name).await {
        Ok(pair) => Ok((pair, true)),
        // IndexedDB refused (a private window, a blocked database): a key
        // for this page only, as the stores fall back to memory.
        Err(_) => Ok((make().await?, false)),
    }
}

/// The pair kept under `name`, made and kept first if there is none.
async fn kept(factory: &web_sys::IdbFactory, name: &str) -> Result<JsValue, JsValue> {
    let open = factory.open_with_u32(DB, 1)?;
    let upgrade = Closure::once_into_js({
        let open = open.clone();
        move || {
            if let Ok(db) = open.result() {
                let _ = db
                    .unchecked_into::<IdbDatabase>()
                    .create_object_store(STORE);
            }
        }
    });
    open.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    let db: IdbDatabase = done(&open).await?.unchecked_into();
    let key = JsValue::from_str(name);
    let result = async {
        let found = done(
            &db.transaction_with_str(STORE)?
                .object_store(STORE)?
                .get(&key)?,
        )
        .await?;
        if !found.is_undefined() {
            return Ok(found);
        }
        let pair = make().await?;
        let store = db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?
            .object_store(STORE)?;
        if done(&store.add_with_key(&pair, &key)?).await.is_ok() {
            return Ok(pair);
        }
        // Another tab kept its pair first: sign with that one.
        done(
            &db.transaction_with_str(STORE)?
                .object_store(STORE)?
                .get(&key)?,
        )
        .await
    }
    .await;
    db.close();
    result
}

/// Resolves with an IndexedDB request's result once it succeeds.
async fn done(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        let succeeded = request.clone();
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::UNDEFINED, &succeeded.result().unwrap_or_default());
        });
        let on_error = Closure::once_into_js(move |event: web_sys::Event| {
            // A failed `add` would abort its transaction: it is handled here.
            event.prevent_default();
            let _ = reject.call0(&JsValue::UNDEFINED);
        });
        request.set_onsuccess(Some(on_success.unchecked_ref()));
        request.set_onerror(Some(on_error.unchecked_ref()));
    });
    JsFuture::from(promise).await
}
