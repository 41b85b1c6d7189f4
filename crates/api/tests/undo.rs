//! `POST /jobs/<JobId>/undo` on real stores: a backed-up object back at its key (s3s-fs), a
//! privatised one readable again (moto, which has ACLs), each recorded once; what cannot be undone
//! refused with the reason; keys without `stowaway:UndoAutoProcess` refused.
mod common;

use axum::http::StatusCode;
use sqlx::PgPool;
use stowaway_api::{router, AccessKey, ApiConfig, AppState, KeyRing};
use stowaway_objects::BACKUP_PREFIX;
use stowaway_store::Store;
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};

use common::{authorization, finished_jobs, send, Reply, ID, KEY};

async fn undo(app: &axum::Router, host: &str, id: &str, key: &str, job: &str) -> Reply {
    let path = format!("/jobs/{job}/undo");
    let auth = authorization(id, key, "POST", &path, &[("host", host)]);
    send(app, "POST", &path, &[("host", host), ("authorization", &auth)], "").await
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn undo_puts_back_what_autoprocess_moved_once(pool: PgPool) {
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let store = Store::from_pool(pool);
    let files = [
        ("moved.png", png_with_ts(20), Some("BackupObject")),
        ("deleted.png", png_with_ts(20), Some("DeleteObject")),
        ("clean.png", clean_png(), Some("BackupObject")),
        ("plain.png", png_with_ts(20), None),
    ];
    let ids = finished_jobs(&store, &objects, &bucket, &files).await;
    let viewer = AccessKey {
        secret_id: "AKIDviewer".into(),
        actions: vec!["ci:*".into()],
        ..AccessKey::root("", "viewerKey")
    };
    let config = ApiConfig {
        keys: Some(KeyRing::new(vec![AccessKey::root(ID, KEY), viewer]).unwrap()),
        ..ApiConfig::default()
    };
    let app = router(AppState::new(store.clone(), config).with_objects(objects.clone()));
    let host = format!("{bucket}.ci.ap-chongqing.myqcloud.com");
    let backup = format!("{BACKUP_PREFIX}moved.png");
    assert!(
        objects.exists(&bucket, &backup).await.unwrap()
            && !objects.exists(&bucket, "moved.png").await.unwrap()
    );

    let r = undo(&app, &host, "AKIDviewer", "viewerKey", &ids[0]).await;
    assert_eq!((r.status, r.error_code()), (StatusCode::FORBIDDEN, "AccessDenied"), "ci:* is not enough");
    let r = undo(&app, &host, ID, KEY, &ids[0]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.get("Action"), r.get("By")), ("Restored", ID));
    assert!(
        objects.exists(&bucket, "moved.png").await.unwrap()
            && !objects.exists(&bucket, &backup).await.unwrap()
    );
    assert_eq!(objects.fetch(&bucket, "moved.png").await.unwrap().to_vec(), files[0].1, "the same bytes");
    // Again: the same record, nothing touched.
    let again = undo(&app, &host, ID, KEY, &ids[0]).await;
    assert_eq!((again.status, again.get("Time")), (StatusCode::OK, r.get("Time")));
    for (job, why) in
        [(&ids[1], "cannot be restored"), (&ids[2], "nothing to undo"), (&ids[3], "nothing to undo")]
    {
        let r = undo(&app, &host, ID, KEY, job).await;
        assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "InvalidArgument"), "{}", r.body);
        assert!(r.get("Message").contains(why), "{}", r.body);
    }
    let r = undo(&app, &host, ID, KEY, "c0000000000000000000000000000000").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::NOT_FOUND, "NoSuchJob"));
    assert!(store.undo_of(&bucket, &ids[1]).await.unwrap().is_none(), "a refusal records nothing");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn undo_makes_a_privatised_object_readable_again(pool: PgPool) {
    let (objects, bucket) = fresh_bucket(S3Server::WithAcls).await;
    let store = Store::from_pool(pool);
    let ids = finished_jobs(
        &store,
        &objects,
        &bucket,
        &[("private.png", png_with_ts(20), Some("SwitchObjectToPrivate"))],
    )
    .await;
    assert!(!objects.readable_by_anyone(&bucket, "private.png").await.unwrap());
    let app = router(AppState::new(store, ApiConfig::default()).with_objects(objects.clone()));
    let r = send(
        &app,
        "POST",
        &format!("/jobs/{}/undo", ids[0]),
        &[("host", &format!("{bucket}.ci.ap-chongqing.myqcloud.com"))],
        "",
    )
    .await;
    assert_eq!((r.status, r.get("Action")), (StatusCode::OK, "MadePublic"), "{}", r.body);
    assert!(objects.readable_by_anyone(&bucket, "private.png").await.unwrap());
}
