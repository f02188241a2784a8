//! S3 of the local engine: buckets and objects, kept in SQLite like every other service's
//! state. Enough for what `deploy --s3-bucket` does (a template too large to send inline
//! is put in a bucket, and CloudFormation reads it back through its TemplateURL), and for
//! the AWS CLI's `s3 mb` / `s3 cp` / `s3 rm` of single objects. No listing, versions,
//! multipart uploads, ACLs or policies. State here; the REST wire protocol in `api::s3`.

use std::sync::Arc;

use md5::{Digest, Md5};
use rusqlite::{OptionalExtension, params};

use crate::local::clock::Clock;
use crate::local::storage::{Storage, StorageError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS s3_buckets (
    name TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS s3_objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    body BLOB NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
);
";

/// S3's limit on an object key, in bytes of UTF-8.
const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, thiserror::Error)]
pub enum S3Error {
    #[error("The specified bucket does not exist")]
    NoSuchBucket(String),
    #[error("The specified key does not exist.")]
    NoSuchKey(String),
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou(String),
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty(String),
    #[error("{0}")]
    InvalidBucketName(String),
    #[error("{0}")]
    IllegalLocationConstraint(String),
    #[error("The specified location-constraint is not valid")]
    InvalidLocationConstraint,
    #[error("Your key is too long")]
    KeyTooLong,
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for S3Error {
    fn from(err: rusqlite::Error) -> S3Error {
        S3Error::Storage(StorageError::from(err))
    }
}

impl S3Error {
    /// The error code S3 puts in its XML error document.
    pub fn code(&self) -> &'static str {
        match self {
            S3Error::NoSuchBucket(_) => "NoSuchBucket",
            S3Error::NoSuchKey(_) => "NoSuchKey",
            S3Error::BucketAlreadyOwnedByYou(_) => "BucketAlreadyOwnedByYou",
            S3Error::BucketNotEmpty(_) => "BucketNotEmpty",
            S3Error::InvalidBucketName(_) => "InvalidBucketName",
            S3Error::IllegalLocationConstraint(_) => "IllegalLocationConstraintException",
            S3Error::InvalidLocationConstraint => "InvalidLocationConstraint",
            S3Error::KeyTooLong => "KeyTooLongError",
            S3Error::Storage(_) => "InternalError",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            S3Error::NoSuchBucket(_) | S3Error::NoSuchKey(_) => 404,
            S3Error::BucketAlreadyOwnedByYou(_) | S3Error::BucketNotEmpty(_) => 409,
            S3Error::InvalidBucketName(_)
            | S3Error::IllegalLocationConstraint(_)
            | S3Error::InvalidLocationConstraint
            | S3Error::KeyTooLong => 400,
            S3Error::Storage(_) => 500,
        }
    }
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    /// The MD5 of the body in hex, as S3 gives a single-part upload's ETag (unquoted).
    pub etag: String,
    pub content_type: String,
    pub modified_ms: i64,
}

#[derive(Debug, Clone)]
pub struct S3 {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    region: String,
}

impl S3 {
    pub async fn open(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        region: String,
    ) -> Result<S3, StorageError> {
        storage.ensure_schema(SCHEMA).await?;
        Ok(S3 {
            storage,
            clock,
            region,
        })
    }

    /// CreateBucket, sent to `endpoint` (the region the request is signed for; the
    /// engine's own when it cannot tell). S3 wants the bucket's region named in the
    /// request, and only the region the request was sent to, except in us-east-1, which
    /// wants none. The bucket is kept with its region, which HeadBucket gives back.
    pub async fn create_bucket(
        &self,
        name: &str,
        location: Option<&str>,
        endpoint: Option<&str>,
    ) -> Result<(), S3Error> {
        check_bucket_name(name)?;
        let endpoint = endpoint.unwrap_or(&self.region).to_owned();
        let region = match (location.filter(|l| !l.is_empty()), endpoint.as_str()) {
            (None, "us-east-1") => endpoint.clone(),
            (Some("us-east-1"), "us-east-1") => return Err(S3Error::InvalidLocationConstraint),
            (Some(asked), _) if asked == endpoint => endpoint.clone(),
            (asked, _) => {
                return Err(S3Error::IllegalLocationConstraint(format!(
                    "The {} location constraint is incompatible for the region specific endpoint this request was sent to.",
                    asked.unwrap_or("unspecified")
                )));
            }
        };
        let (name, now) = (name.to_owned(), self.clock.now_ms());
        // us-east-1 answers a repeated create of one's own bucket with success (a legacy
        // S3 keeps); every other region with BucketAlreadyOwnedByYou.
        let repeat_ok = endpoint == "us-east-1";
        self.storage
            .write(move |db| {
                let added = db.execute(
                    "INSERT OR IGNORE INTO s3_buckets (name, region, created_ms) VALUES (?1, ?2, ?3)",
                    params![name, region, now],
                )?;
                if added == 0 && !repeat_ok {
                    return Err(S3Error::BucketAlreadyOwnedByYou(name));
                }
                Ok(())
            })
            .await
    }

    /// HeadBucket: the bucket's region.
    pub async fn head_bucket(&self, name: &str) -> Result<String, S3Error> {
        let name = name.to_owned();
        self.storage
            .read(move |db| {
                db.query_row(
                    "SELECT region FROM s3_buckets WHERE name = ?1",
                    params![name],
                    |row| row.get(0),
                )
                .optional()?
                .ok_or(S3Error::NoSuchBucket(name))
            })
            .await
    }

    pub async fn delete_bucket(&self, name: &str) -> Result<(), S3Error> {
        let name = name.to_owned();
        self.storage
            .write(move |db| {
                require_bucket(db, &name)?;
                let holds: bool = db.query_row(
                    "SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = ?1)",
                    params![name],
                    |row| row.get(0),
                )?;
                if holds {
                    return Err(S3Error::BucketNotEmpty(name));
                }
                db.execute("DELETE FROM s3_buckets WHERE name = ?1", params![name])?;
                Ok(())
            })
            .await
    }

    /// PutObject: replaces any object under the key. Answers the ETag.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
    ) -> Result<String, S3Error> {
        if key.len() > MAX_KEY_BYTES {
            return Err(S3Error::KeyTooLong);
        }
        let etag = hex::encode(Md5::digest(&body));
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        let content_type = content_type.unwrap_or("binary/octet-stream").to_owned();
        let (now, answer) = (self.clock.now_ms(), etag.clone());
        self.storage
            .write(move |db| {
                require_bucket(db, &bucket)?;
                db.execute(
                    "INSERT OR REPLACE INTO s3_objects (bucket, key, body, etag, content_type, modified_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![bucket, key, body, etag, content_type, now],
                )?;
                Ok::<(), S3Error>(())
            })
            .await?;
        Ok(answer)
    }

    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Object, S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.storage
            .read(move |db| {
                require_bucket(db, &bucket)?;
                db.query_row(
                    "SELECT body, etag, content_type, modified_ms FROM s3_objects
                     WHERE bucket = ?1 AND key = ?2",
                    params![bucket, key],
                    |row| {
                        Ok(Object {
                            body: row.get(0)?,
                            etag: row.get(1)?,
                            content_type: row.get(2)?,
                            modified_ms: row.get(3)?,
                        })
                    },
                )
                .optional()?
                .ok_or(S3Error::NoSuchKey(key))
            })
            .await
    }

    /// DeleteObject: S3 answers success whether or not the key held an object.
    pub async fn delete_object(&self, bucket: &str, key: &str) -> Result<(), S3Error> {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        self.storage
            .write(move |db| {
                require_bucket(db, &bucket)?;
                db.execute(
                    "DELETE FROM s3_objects WHERE bucket = ?1 AND key = ?2",
                    params![bucket, key],
                )?;
                Ok(())
            })
            .await
    }
}

/// The bucket and key an S3 object URL names, as CloudFormation takes a TemplateURL:
/// `https://`, path-style (`s3.<region>.amazonaws.com/<bucket>/<key>`) or virtual-hosted
/// (`<bucket>.s3.<region>.amazonaws.com/<key>`), with or without the region. The engine
/// serves one region, so the region in the URL is not checked.
pub fn object_of_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://")?;
    let rest = rest.split(['?', '#']).next()?;
    let (host, path) = rest.split_once('/')?;
    let domain = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let is_s3 = |name: &str| name == "s3" || name.starts_with("s3.") || name.starts_with("s3-");
    let (bucket, key) = if is_s3(domain) {
        path.split_once('/')?
    } else {
        // The last `.s3.` or `.s3-`: a bucket name may itself hold one.
        let at = domain.rfind(".s3.").max(domain.rfind(".s3-"));
        let bucket = match at {
            Some(at) => &domain[..at],
            None => domain.strip_suffix(".s3")?,
        };
        (bucket, path)
    };
    let key = crate::local::api::query_protocol::percent_decode(key, false);
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_owned(), key))
}

fn require_bucket(db: &rusqlite::Connection, name: &str) -> Result<(), S3Error> {
    let exists: bool = db.query_row(
        "SELECT EXISTS (SELECT 1 FROM s3_buckets WHERE name = ?1)",
        params![name],
        |row| row.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(S3Error::NoSuchBucket(name.to_owned()))
    }
}

/// S3's general-purpose bucket naming rules: 3 to 63 characters of lowercase letters,
/// digits, dots and hyphens, starting and ending with a letter or digit, no two adjacent
/// dots, and not shaped like an IP address.
fn check_bucket_name(name: &str) -> Result<(), S3Error> {
    let problem = if !(3..=63).contains(&name.len()) {
        Some("must be between 3 and 63 characters long")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        Some("may only hold lowercase letters, digits, dots and hyphens")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        Some("must start and end with a letter or digit")
    } else if name.contains("..") {
        Some("must not hold two adjacent dots")
    } else if name.parse::<std::net::Ipv4Addr>().is_ok() {
        Some("must not be formatted as an IP address")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(S3Error::InvalidBucketName(format!(
            "The specified bucket is not valid: `{name}` {problem}."
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::clock::SystemClock;

    async fn open(dir: &std::path::Path, region: &str) -> (Arc<Storage>, S3) {
        let storage = Arc::new(Storage::open(dir).unwrap());
        let s3 = S3::open(
            Arc::clone(&storage),
            Arc::new(SystemClock),
            region.to_owned(),
        )
        .await
        .unwrap();
        (storage, s3)
    }

    #[tokio::test]
    async fn objects_survive_a_restart_and_answer_their_md5_as_etag() {
        let dir = tempfile::tempdir().unwrap();
        let (storage, s3) = open(dir.path(), "eu-west-1").await;
        s3.create_bucket("templates", Some("eu-west-1"), Some("eu-west-1"))
            .await
            .unwrap();
        let etag = s3
            .put_object("templates", "a/b.template", b"{}".to_vec(), None)
            .await
            .unwrap();
        assert_eq!(etag, "99914b932bd37a50b983c5e7c90ae93b");
        storage.close();
        drop((s3, storage));

        let (_storage, s3) = open(dir.path(), "eu-west-1").await;
        let object = s3.get_object("templates", "a/b.template").await.unwrap();
        assert_eq!(object.body, b"{}");
        assert_eq!(object.content_type, "binary/octet-stream");
        assert!(matches!(
            s3.get_object("templates", "a/c.template").await,
            Err(S3Error::NoSuchKey(_))
        ));
        assert!(matches!(
            s3.delete_bucket("templates").await,
            Err(S3Error::BucketNotEmpty(_))
        ));
        s3.delete_object("templates", "a/b.template").await.unwrap();
        s3.delete_bucket("templates").await.unwrap();
        assert!(matches!(
            s3.head_bucket("templates").await,
            Err(S3Error::NoSuchBucket(_))
        ));
    }

    #[test]
    fn template_urls_name_a_bucket_and_key_in_every_s3_form() {
        let expected = Some(("my.bucket".to_owned(), "stacks/a b.template".to_owned()));
        for url in [
            "https://s3.eu-west-1.amazonaws.com/my.bucket/stacks/a%20b.template",
            "https://s3.amazonaws.com/my.bucket/stacks/a%20b.template?versionId=1",
            "https://s3-eu-west-1.amazonaws.com/my.bucket/stacks/a%20b.template",
            "https://my.bucket.s3.eu-west-1.amazonaws.com/stacks/a%20b.template",
            "https://my.bucket.s3.amazonaws.com/stacks/a%20b.template",
            "https://my.bucket.s3-eu-west-1.amazonaws.com/stacks/a%20b.template",
        ] {
            assert_eq!(object_of_url(url), expected, "{url}");
        }
        assert_eq!(
            object_of_url("https://a.s3.b.s3.eu-west-1.amazonaws.com/k"),
            Some(("a.s3.b".to_owned(), "k".to_owned()))
        );
        for url in [
            "http://s3.amazonaws.com/b/k",
            "https://example.com/b/k",
            "https://s3.amazonaws.com/bucket-only",
            "https://b.s3.amazonaws.com/",
            "https://my-site.s3-website-eu-west-1.amazon.com/k",
        ] {
            assert_eq!(object_of_url(url), None, "{url}");
        }
    }

    #[tokio::test]
    async fn buckets_follow_s3_naming_and_region_rules() {
        let dir = tempfile::tempdir().unwrap();
        let (_storage, s3) = open(dir.path(), "eu-west-1").await;
        for bad in [
            "ab",
            "Upper",
            "-start",
            "a..b",
            "192.168.1.1",
            "under_score",
        ] {
            assert!(
                matches!(
                    s3.create_bucket(bad, Some("eu-west-1"), None).await,
                    Err(S3Error::InvalidBucketName(_))
                ),
                "{bad}"
            );
        }
        let unspecified = s3.create_bucket("bk1", None, None).await.unwrap_err();
        assert!(
            unspecified
                .to_string()
                .contains("The unspecified location constraint")
        );
        assert!(matches!(
            s3.create_bucket("bk1", Some("us-west-2"), None).await,
            Err(S3Error::IllegalLocationConstraint(_))
        ));
        s3.create_bucket("bk1", Some("eu-west-1"), None)
            .await
            .unwrap();
        assert!(matches!(
            s3.create_bucket("bk1", Some("eu-west-1"), None).await,
            Err(S3Error::BucketAlreadyOwnedByYou(_))
        ));
        assert!(matches!(
            s3.put_object("nope", "k", Vec::new(), None).await,
            Err(S3Error::NoSuchBucket(_))
        ));
        // The region a request is signed for is its endpoint's, whatever the engine's.
        s3.create_bucket("bk2", Some("ap-south-1"), Some("ap-south-1"))
            .await
            .unwrap();
        assert_eq!(s3.head_bucket("bk2").await.unwrap(), "ap-south-1");
        let east = Some("us-east-1");
        assert!(matches!(
            s3.create_bucket("bk3", east, east).await,
            Err(S3Error::InvalidLocationConstraint)
        ));
        s3.create_bucket("bk3", None, east).await.unwrap();
        s3.create_bucket("bk3", None, east).await.unwrap();
        assert_eq!(s3.head_bucket("bk3").await.unwrap(), "us-east-1");
    }
}
