//! Listing against real S3 servers: a walk folder by folder (`list_tree_step`) gives exactly the
//! keys of a flat listing, in the same order, whatever the page size and from any key it stopped
//! at, remembering folders between steps or not: nested, interleaved and odd folders, keys that sort around a folder's `/`, a root that is
//! not a folder, keys outside the root, and (on moto, which keeps keys ending in `/`) folder markers.
use stowaway_objects::{FolderMemo, Objects};
use stowaway_testkit::{fresh_bucket, S3Server};

const KEYS: &[&str] = &[
    "t/a.png",
    "t/b/x.png",
    "t/b/y.png",
    "t/bb.png",
    "t/c.png",
    "t/d/e/f/g.png",
    "t/d/e/h.png",
    "t/d/i.png",
    "t/x-1.png",
    "t/x.png",
    "t/x/y.png",
    "t/ä 中文 +%20.png",
    "t/sp ace/f+o%o.png",
    "t/deep/1/2/3/4/5.png",
    "t0.png",
    "u/outside.png",
    "s.png",
];

/// Every key under `root` by flat pages.
async fn flat(objects: &Objects, bucket: &str, root: &str) -> Vec<String> {
    let (mut keys, mut next) = (Vec::new(), None);
    loop {
        let page = objects.list_page(bucket, root, next.as_deref(), 3).await.unwrap();
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next {
            Some(n) => next = Some(n),
            None => return keys,
        }
    }
}

/// Every key under `root` by tree steps from `after`, checking each step stops at its last key;
/// with one memo for the walk, or (`forget`) a fresh one every step, as after a restart.
async fn walk(
    objects: &Objects,
    bucket: &str,
    root: &str,
    after: Option<String>,
    max: i32,
    forget: bool,
) -> Vec<String> {
    let (mut keys, mut after, mut memo) = (Vec::new(), after, FolderMemo::default());
    for _ in 0..1000 {
        if forget {
            memo = FolderMemo::default();
        }
        let (page, next) =
            objects.list_tree_step(bucket, root, after.as_deref(), max, &mut memo).await.unwrap();
        assert!(page.len() <= max as usize, "{page:?}");
        assert_eq!(next, page.last().map(|o| o.key.clone()), "a step resumes after its last key");
        keys.extend(page.into_iter().map(|o| o.key));
        match next {
            Some(n) => after = Some(n),
            None => return keys,
        }
    }
    panic!("the walk did not end: {keys:?}");
}

async fn same_keys_as_flat(server: S3Server, markers: bool) {
    let (objects, bucket) = fresh_bucket(server).await;
    let mut keys: Vec<&str> = KEYS.to_vec();
    if markers {
        keys.extend(["t/b/", "t/empty/", "t/m/", "t/m/n.png"]);
    }
    for key in &keys {
        objects.put(&bucket, key, b"x".to_vec()).await.unwrap();
    }
    for root in ["t/", "t", "t/b", "t/d/", "", "nothing/"] {
        let expected = flat(&objects, &bucket, root).await;
        let mut sorted =
            keys.iter().filter(|k| k.starts_with(root)).map(|k| k.to_string()).collect::<Vec<_>>();
        sorted.sort();
        assert_eq!(expected, sorted, "flat listing under {root:?}");
        for max in [1, 2, 1000] {
            for forget in [false, true] {
                let keys = walk(&objects, &bucket, root, None, max, forget).await;
                assert_eq!(keys, expected, "{root:?}, {max} a step, memo forgotten: {forget}");
            }
        }
        // Resumed from every key it could have stopped at, the rest comes exactly once.
        for (i, key) in expected.iter().enumerate() {
            let rest = walk(&objects, &bucket, root, Some(key.clone()), 2, false).await;
            assert_eq!(rest, expected[i + 1..], "{root:?} after {key}");
        }
    }
}

#[tokio::test]
async fn a_tree_walk_lists_what_a_flat_listing_does_on_s3s_fs() {
    same_keys_as_flat(S3Server::Strict, false).await;
}

#[tokio::test]
async fn a_tree_walk_lists_what_a_flat_listing_does_on_moto() {
    same_keys_as_flat(S3Server::WithAcls, true).await;
}

#[tokio::test]
async fn a_remembered_folder_is_read_from_memory_not_the_store() {
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for key in ["r/a/1.png", "r/c/1.png"] {
        objects.put(&bucket, key, b"x".to_vec()).await.unwrap();
    }
    let mut memo = FolderMemo::default();
    let (first, after) = objects.list_tree_step(&bucket, "r/", None, 1000, &mut memo).await.unwrap();
    assert_eq!(first[0].key, "r/a/1.png");
    // A folder made since `r/` was listed: the memo answers for `r/`, so the walk does not see it
    // (for a minute); a walk that forgot does.
    objects.put(&bucket, "r/b/1.png", b"x".to_vec()).await.unwrap();
    let remembered = objects.list_tree_step(&bucket, "r/", after.as_deref(), 1000, &mut memo).await.unwrap();
    assert_eq!(remembered.1.as_deref(), Some("r/c/1.png"));
    let fresh =
        objects.list_tree_step(&bucket, "r/", after.as_deref(), 1000, &mut FolderMemo::default()).await;
    assert_eq!(fresh.unwrap().1.as_deref(), Some("r/b/1.png"));
}
