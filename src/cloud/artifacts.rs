//! Templates larger than CloudFormation takes inline (51,200 bytes) go through S3, as
//! `aws cloudformation deploy --s3-bucket` sends them: put in the bucket under a key named
//! by their content, then passed to CloudFormation as a TemplateURL (at most 1 MB). A
//! template that fits is still sent inline: no object to keep, no S3 permission needed.
//! Uploads name the caller's account as the bucket's expected owner, so a bucket of that
//! name in another account is refused rather than written to.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use md5::{Digest, Md5};

use super::Clients;
use super::error::{code, explain};
use crate::render::{TEMPLATE_BODY_MAX, TEMPLATE_URL_MAX};

/// The bucket `--s3-bucket` names, and the `--s3-prefix` of keys in it.
#[derive(Debug, Clone, Copy)]
pub struct Bucket<'a> {
    pub name: &'a str,
    pub prefix: Option<&'a str>,
}

/// How a template reaches CloudFormation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    Body(String),
    Url(String),
}

/// What `stage` did with a template, for the user to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staged {
    Inline,
    Uploaded { object: String },
    AlreadyThere { object: String },
}

/// Why a template cannot be sent inline, and the two ways out.
pub fn too_large_inline(bytes: usize) -> String {
    format!(
        "the template is {bytes} bytes, more than CloudFormation takes inline ({TEMPLATE_BODY_MAX}): \
         pass --s3-bucket BUCKET to upload it there and deploy it from S3 (as `aws cloudformation deploy` does), \
         or split the blueprint into two stacks"
    )
}

/// The template as CloudFormation should get it: inline when it fits, else uploaded to
/// `bucket` (unless an object with the same content is already there).
pub async fn stage(
    aws: &Clients,
    bucket: Option<Bucket<'_>>,
    stack: &str,
    body: String,
) -> anyhow::Result<(TemplateSource, Staged)> {
    if body.len() <= TEMPLATE_BODY_MAX {
        return Ok((TemplateSource::Body(body), Staged::Inline));
    }
    let Some(bucket) = bucket else {
        anyhow::bail!(too_large_inline(body.len()));
    };
    if body.len() > TEMPLATE_URL_MAX {
        anyhow::bail!(
            "the template is {} bytes, more than CloudFormation reads from S3 ({TEMPLATE_URL_MAX}); split the blueprint into two stacks",
            body.len()
        );
    }
    let key = object_key(bucket.prefix, stack, &body);
    let object = format!("s3://{}/{key}", bucket.name);
    let s3 = &aws.s3;
    // The bucket must be the caller's own account's: a template put in a bucket someone
    // else created under that name would be theirs to read and to change before
    // CloudFormation reads it.
    let account = aws
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|err| explain("sts:GetCallerIdentity", err))?
        .account
        .ok_or_else(|| {
            anyhow::anyhow!(
                "sts:GetCallerIdentity named no account; the bucket's owner cannot be checked"
            )
        })?;
    let present = s3
        .head_object()
        .bucket(bucket.name)
        .key(&key)
        .expected_bucket_owner(&account)
        .send()
        .await;
    let other_region = || {
        anyhow::anyhow!(
            "S3 bucket `{}` is in another region than the stack; CloudFormation reads templates from a bucket in its own region: name one with --s3-bucket",
            bucket.name
        )
    };
    let staged = match present {
        Ok(_) => Staged::AlreadyThere { object },
        // S3 answers 403, not 404, for a missing key to a caller without s3:ListBucket,
        // which deploying does not need: either way, upload.
        Err(err) if matches!(http_status(&err), Some(403 | 404)) => {
            s3.put_object()
                .bucket(bucket.name)
                .key(&key)
                .expected_bucket_owner(&account)
                .content_type("application/json")
                .body(ByteStream::from(body.into_bytes()))
                .send()
                .await
                .map_err(|err| match code(&err) {
                    Some("NoSuchBucket") => anyhow::anyhow!(
                        "S3 bucket `{}` does not exist: create it in the stack's region (`aws s3 mb s3://{}`; S3 encrypts objects by default) or name another with --s3-bucket",
                        bucket.name,
                        bucket.name
                    ),
                    Some("AccessDenied") => anyhow::anyhow!(
                        "access denied to {object}: the bucket must belong to account {account}, and deploying from S3 needs s3:PutObject and s3:GetObject on arn:aws:s3:::{}/{}* (CloudFormation reads the template with the caller's permissions)",
                        bucket.name,
                        bucket.prefix.map(|p| format!("{}/", p.trim_matches('/'))).unwrap_or_default()
                    ),
                    Some("PermanentRedirect" | "AuthorizationHeaderMalformed") => other_region(),
                    _ => explain("s3:PutObject", err),
                })?;
            Staged::Uploaded { object }
        }
        Err(err) if http_status(&err) == Some(301) => return Err(other_region()),
        Err(err) => return Err(explain("s3:HeadObject", err)),
    };
    let region = s3
        .config()
        .region()
        .map(|r| r.as_ref().to_owned())
        .unwrap_or_else(|| "us-east-1".into());
    Ok((
        TemplateSource::Url(object_url(&region, bucket.name, &key)),
        staged,
    ))
}

/// The HTTP status S3 answered with, if it answered.
fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// `<prefix>/<stack>/<md5 of the body>.template`: the same template is uploaded once.
/// Earlier versions stay in the bucket (CloudFormation keeps its own copy of each stack's
/// template; a lifecycle rule on the prefix can expire them).
fn object_key(prefix: Option<&str>, stack: &str, body: &str) -> String {
    let digest = hex::encode(Md5::digest(body.as_bytes()));
    match prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    {
        Some(prefix) => format!("{prefix}/{stack}/{digest}.template"),
        None => format!("{stack}/{digest}.template"),
    }
}

/// The path-style HTTPS URL of an object, as CloudFormation takes a TemplateURL; path
/// style keeps bucket names with dots valid under the certificate.
fn object_url(region: &str, bucket: &str, key: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let encoded: String = key
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("https://s3.{region}.{domain}/{bucket}/{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_named_by_content_under_the_prefix() {
        let body = "{}";
        assert_eq!(
            object_key(None, "shop", body),
            "shop/99914b932bd37a50b983c5e7c90ae93b.template"
        );
        assert_eq!(
            object_key(Some("/deploys/"), "shop", body),
            "deploys/shop/99914b932bd37a50b983c5e7c90ae93b.template"
        );
        assert_ne!(
            object_key(None, "shop", "{ }"),
            object_key(None, "shop", body)
        );
    }

    #[test]
    fn urls_are_path_style_https_with_the_key_encoded() {
        assert_eq!(
            object_url("eu-west-1", "my.bucket", "a b/c+d.template"),
            "https://s3.eu-west-1.amazonaws.com/my.bucket/a%20b/c%2Bd.template"
        );
        assert_eq!(
            object_url("cn-north-1", "b", "k"),
            "https://s3.cn-north-1.amazonaws.com.cn/b/k"
        );
    }
}
