//! A prefix's keys in key order, folder by folder (ListObjectsV2 with `Delimiter=/`), for stores
//! that read every key under the bucket for each flat page (s3s-fs, MinIO on a filesystem): each
//! request reads one folder. A step resumes from the last key it returned, nothing else; a
//! [`FolderMemo`] saves asking again for the folders above that key.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::list::{listed, Listed};
use crate::{ObjectError, Objects};

/// What a walk remembers between steps: the last listing of each folder above its place, so a
/// step that goes back up reads the parent's next subfolder from memory, not from the store
/// (which for s3s-fs would read the whole tree under it again). Optional: a fresh memo costs
/// requests, never keys. Holds one page per folder level, each for at most [`MEMO_FOR`].
#[derive(Debug, Default)]
pub struct FolderMemo {
    folders: HashMap<String, Remembered>,
}

/// How long a folder's listing stands in for asking again: subfolders made since are seen after it.
const MEMO_FOR: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Remembered {
    at: Instant,
    /// The listing's StartAfter; its entries cover the keys after it, up to its last entry when
    /// `truncated`, else to the folder's end.
    after: Option<String>,
    entries: Vec<Entry>,
    truncated: bool,
}

/// A folder's entry, in key order: an object directly in it, or a subfolder (`…/`).
#[derive(Clone, Debug)]
enum Entry {
    Object(Listed),
    Folder(String),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Object(o) => &o.key,
            Entry::Folder(f) => f,
        }
    }
}

impl Remembered {
    /// The entries a listing after `after` would give now, if this listing covers them.
    fn after(&self, after: Option<&str>) -> Option<Vec<Entry>> {
        if self.after.as_deref() > after || self.at.elapsed() > MEMO_FOR {
            return None;
        }
        // A subfolder holding `after` sorts before it, and was walked to its end before the walk
        // came back up: leaving it out is what the store's answer would do.
        let left: Vec<Entry> =
            self.entries.iter().filter(|e| after.is_none_or(|a| e.name() > a)).cloned().collect();
        (!left.is_empty() || !self.truncated).then_some(left)
    }
}

impl Objects {
    /// One step of a walk of `root`'s keys in key order, from just after `after` (`None`: the
    /// start): up to `max_keys` objects of one folder (fewer when a subfolder comes next), and
    /// the last key to pass as `after` next (`None`: the walk is over).
    pub async fn list_tree_step(
        &self,
        bucket: &str,
        root: &str,
        after: Option<&str>,
        max_keys: i32,
        memo: &mut FolderMemo,
    ) -> Result<(Vec<Listed>, Option<String>), ObjectError> {
        // The folders that may still hold keys after `after`, deepest first: those above it.
        let mut pending: Vec<String> = vec![root.to_string()];
        if let Some(after) = after {
            let deeper = after.get(root.len()..).unwrap_or("");
            let cuts = deeper.match_indices('/').map(|(i, _)| root.len() + i + 1);
            pending.extend(cuts.map(|end| after[..end].to_string()));
        }
        memo.folders.retain(|folder, _| pending.contains(folder));
        while let Some(folder) = pending.pop() {
            let entries = self.folder_after(bucket, &folder, after, max_keys, memo).await?;
            // Keys inside the first subfolder come before anything after it.
            let objects: Vec<Listed> = entries
                .iter()
                .map_while(|e| match e {
                    Entry::Object(o) => Some(o.clone()),
                    Entry::Folder(_) => None,
                })
                .collect();
            if let Some(last) = objects.last().map(|o| o.key.clone()) {
                return Ok((objects, Some(last)));
            }
            if let Some(Entry::Folder(sub)) = entries.first() {
                pending.push(folder);
                pending.push(sub.clone());
            }
            // Else nothing is left in this folder after `after`: on to the one above it.
        }
        Ok((Vec::new(), None))
    }

    /// `folder`'s entries after `after`, from the memo if it holds them, else from the store.
    async fn folder_after(
        &self,
        bucket: &str,
        folder: &str,
        after: Option<&str>,
        max_keys: i32,
        memo: &mut FolderMemo,
    ) -> Result<Vec<Entry>, ObjectError> {
        if let Some(entries) = memo.folders.get(folder).and_then(|r| r.after(after)) {
            return Ok(entries);
        }
        let output = self
            .list_objects(bucket, folder, max_keys, |call| {
                call.delimiter("/").set_start_after(after.map(String::from))
            })
            .await?;
        let subfolders =
            output.common_prefixes().iter().filter_map(|p| Some(Entry::Folder(p.prefix()?.into())));
        let mut entries: Vec<Entry> =
            listed(&output).into_iter().map(Entry::Object).chain(subfolders).collect();
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        let truncated = output.is_truncated() == Some(true);
        let remembered = Remembered {
            at: Instant::now(),
            after: after.map(String::from),
            entries: entries.clone(),
            truncated,
        };
        memo.folders.insert(folder.to_string(), remembered);
        Ok(entries)
    }
}
