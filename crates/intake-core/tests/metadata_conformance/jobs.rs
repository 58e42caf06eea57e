//! The job queue: leases, retries, recovery, and fair claims across projects.

use super::support::*;
use std::collections::HashSet;

#[tokio::test]
async fn jobs_are_claimed_oldest_first_under_an_exclusive_lease() {
    for b in backends().await {
        let s = &b.store;
        assert!(claim(s.as_ref(), "w1", NOW, NOW + 1000).await.is_none(), "{}: empty queue", b.name);
        let (u1, j1) = queued(s.as_ref(), 1, NOW - 5).await;
        let (_, j2) = queued(s.as_ref(), 2, NOW).await;
        let first = claim(s.as_ref(), "w1", NOW, NOW + 1000).await.unwrap();
        assert_eq!((first.id.as_str(), first.upload_id.as_str(), first.attempts), (j1.as_str(), u1.as_str(), 1));
        let second = claim(s.as_ref(), "w2", NOW, NOW + 1000).await.unwrap();
        assert_eq!(second.id, j2, "{}", b.name);
        assert!(claim(s.as_ref(), "w3", NOW + 999, NOW + 2000).await.is_none(), "{}: leases hold", b.name);

        // The holder extends its lease; nobody else can.
        assert!(s.extend_lease(&j1, "w1", NOW + 5000).await.unwrap(), "{}", b.name);
        assert!(!s.extend_lease(&j1, "w2", NOW + 9000).await.unwrap(), "{}", b.name);
        // w2 dies: its job is claimed again once the lease ran out, counting the attempt.
        let taken = claim(s.as_ref(), "w3", NOW + 1001, NOW + 3000).await.unwrap();
        assert_eq!((taken.id.as_str(), taken.attempts), (j2.as_str(), 2), "{}", b.name);
        assert!(!s.extend_lease(&j2, "w2", NOW + 9000).await.unwrap(), "{}: the dead holder lost it", b.name);
        // The dead holder's late finish changes nothing; the new holder's does.
        s.finish_job(&j2, "w2").await.unwrap();
        assert!(s.extend_lease(&j2, "w3", NOW + 4000).await.unwrap(), "{}", b.name);
        s.finish_job(&j2, "w3").await.unwrap();
        s.finish_job(&j1, "w1").await.unwrap();
        let later = NOW + 1_000_000;
        assert!(claim(s.as_ref(), "w4", later, later + 1).await.is_none(), "{}: done is done", b.name);
    }
}

#[tokio::test]
async fn a_job_given_back_at_shutdown_runs_again_at_once_without_losing_an_attempt() {
    for b in backends().await {
        let s = &b.store;
        let (_, job) = queued(s.as_ref(), 1, NOW).await;
        let claimed = claim(s.as_ref(), "w1", NOW, NOW + 300_000).await.unwrap();
        assert_eq!(claimed.id, job, "{}", b.name);
        assert!(!s.release_job(&job, "w2", NOW + 1).await.unwrap(), "{}: only the holder gives it back", b.name);
        assert!(s.release_job(&job, "w1", NOW + 1).await.unwrap(), "{}", b.name);
        assert!(!s.release_job(&job, "w1", NOW + 1).await.unwrap(), "{}: once", b.name);
        // Claimable by anyone at once, long before the 5-minute lease would have run out.
        let again = claim(s.as_ref(), "w2", NOW + 2, NOW + 300_000).await.expect("runnable at once");
        assert_eq!(again.id, job, "{}", b.name);
        assert_eq!(again.attempts, claimed.attempts, "{}: the interrupted attempt is not counted", b.name);
    }
}

#[tokio::test]
async fn a_retried_job_waits_for_its_time() {
    for b in backends().await {
        let s = &b.store;
        let (_, job) = queued(s.as_ref(), 1, NOW).await;
        claim(s.as_ref(), "w1", NOW, NOW + 1000).await.unwrap();
        s.retry_job(&job, "w1", NOW + 500, "storage hiccup").await.unwrap();
        assert!(claim(s.as_ref(), "w2", NOW + 499, NOW + 2000).await.is_none(), "{}", b.name);
        let again = claim(s.as_ref(), "w2", NOW + 500, NOW + 2000).await.unwrap();
        assert_eq!((again.id.as_str(), again.attempts), (job.as_str(), 2), "{}", b.name);
    }
}

#[tokio::test]
async fn concurrent_claimers_never_share_a_job() {
    for b in backends().await {
        const JOBS: usize = 40;
        for n in 0..JOBS {
            queued(b.store.as_ref(), n, NOW).await;
        }
        // Eight claimers, each on its own handle (like separate processes), race for the jobs.
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..8 {
            let store = (b.reopen)().await;
            tasks.spawn(async move {
                let mut mine = Vec::new();
                while let Some(job) = claim(store.as_ref(), &format!("w{w}"), NOW, NOW + 60_000).await {
                    mine.push(job.id);
                }
                mine
            });
        }
        let mut seen = HashSet::new();
        while let Some(mine) = tasks.join_next().await {
            for id in mine.unwrap() {
                assert!(seen.insert(id.clone()), "{}: job {id} was claimed twice", b.name);
            }
        }
        assert_eq!(seen.len(), JOBS, "{}: every job was claimed", b.name);
    }
}

#[tokio::test]
async fn startup_recovery_fits_who_shares_the_store() {
    for b in backends().await {
        let s = &b.store;
        let (_, job) = queued(s.as_ref(), 1, NOW).await;
        let far = NOW + 3_600_000;
        claim(s.as_ref(), "other-instance", NOW, far).await.unwrap();
        // A second process starts on the same store.
        let newcomer = (b.reopen)().await;
        let released = newcomer.recover_at_startup().await.unwrap();
        let reclaimed = claim(newcomer.as_ref(), "newcomer", NOW, NOW + 1000).await;
        if b.shared_by_many_processes {
            assert_eq!(released, 0, "{}: a live instance's lease is not released", b.name);
            assert!(reclaimed.is_none(), "{}: the live lease still holds", b.name);
        } else {
            // One process owns SQLite: whoever held the lease is gone.
            assert_eq!(released, 1, "{}", b.name);
            assert_eq!(reclaimed.map(|j| j.id.into_string()), Some(job), "{}", b.name);
        }
    }
}

/// A queued job of `owner`'s upload `n` in the processing lane.
async fn queued_for(s: &dyn MetadataStore, owner: &str, n: usize, now: i64) -> String {
    let id = format!("upload_{owner}_{n:03}");
    let mut u = upload(&id, now + 60_000);
    u.owner_id = owner.into();
    insert(s, &u).await.unwrap();
    assert!(complete(s, &id, &format!("job_{owner}_{n:03}"), now).await);
    id
}

/// Waiting work is claimed round-robin across projects, not oldest first: a project that
/// queued a hundred jobs first does not make a latecomer wait for all of them.
#[tokio::test]
async fn claims_take_turns_across_projects() {
    for b in backends().await {
        let s = b.store.as_ref();
        for n in 0..5 {
            queued_for(s, "proj_busy", n, NOW - 1000).await;
        }
        queued_for(s, "proj_late", 0, NOW).await;
        queued_for(s, "proj_late", 1, NOW).await;
        let mut owners = Vec::new();
        for w in 0..7 {
            let job = claim(s, &format!("w{w}"), NOW + w, NOW + 60_000).await.expect("work waits");
            owners.push(job.owner_id.clone());
            s.finish_job(&job.id, &format!("w{w}")).await.unwrap();
        }
        assert_eq!(
            owners,
            ["proj_busy", "proj_late", "proj_busy", "proj_late", "proj_busy", "proj_busy", "proj_busy"],
            "{}",
            b.name
        );
    }
}

/// A download lane's share is strict: a project never holds more than its share of the
/// slots, counted over every handle on the store (every instance), even with nobody else
/// waiting. The processing lane's share holds only while another project waits.
#[tokio::test]
async fn a_project_holds_no_more_than_its_share_on_every_instance() {
    for b in backends().await {
        let s = b.store.as_ref();
        for n in 0..4 {
            let mut u = upload(&format!("upload_dl{n}"), NOW + 60_000);
            (u.source, u.job_id) = (Source::Url, Some(format!("job_dl{n}").into()));
            s.insert_import(&u, NOW, &UNLIMITED).await.unwrap();
        }
        let share = ClaimPolicy { lane: Lane::Download, per_project: 2, strict: true };
        let other_instance = (b.reopen)().await;
        let first = s.claim_job("a1", &share, NOW, NOW + 60_000).await.unwrap();
        let second = other_instance.claim_job("b1", &share, NOW, NOW + 60_000).await.unwrap();
        assert!(first.is_some() && second.is_some(), "{}", b.name);
        assert!(s.claim_job("a2", &share, NOW, NOW + 60_000).await.unwrap().is_none(), "{}: at its share", b.name);
        assert!(other_instance.claim_job("b2", &share, NOW, NOW + 60_000).await.unwrap().is_none(), "{}", b.name);
        // Another project's download finds a slot at once.
        let mut u = upload("upload_dl_other", NOW + 60_000);
        (u.source, u.job_id, u.owner_id) = (Source::Url, Some("job_dl_other".into()), "proj_b".into());
        s.insert_import(&u, NOW, &UNLIMITED).await.unwrap();
        let theirs = s.claim_job("a3", &share, NOW, NOW + 60_000).await.unwrap().expect("a free slot");
        assert_eq!(theirs.owner_id, "proj_b", "{}", b.name);
        // One finishes: the project may take another.
        let first = first.unwrap();
        s.finish_job(&first.id, "a1").await.unwrap();
        assert!(s.claim_job("a4", &share, NOW, NOW + 60_000).await.unwrap().is_some(), "{}", b.name);

        // Processing: alone, a project may use every worker; with another project waiting,
        // that one goes first.
        let process = ClaimPolicy { lane: Lane::Process, per_project: 1, strict: false };
        queued_for(s, "proj_a", 0, NOW).await;
        queued_for(s, "proj_a", 1, NOW).await;
        assert!(s.claim_job("p1", &process, NOW, NOW + 60_000).await.unwrap().is_some());
        assert!(s.claim_job("p2", &process, NOW, NOW + 60_000).await.unwrap().is_some(), "{}: alone", b.name);
        queued_for(s, "proj_a", 2, NOW).await;
        queued_for(s, "proj_b", 0, NOW + 1).await;
        let next = s.claim_job("p3", &process, NOW + 2, NOW + 60_000).await.unwrap().unwrap();
        assert_eq!(next.owner_id, "proj_b", "{}: the other project first", b.name);
    }
}

/// Attempts are counted when a job is claimed, so a job whose worker dies every time (a
/// file that crashes the process) shows how often it was tried, and the runner can give up.
#[tokio::test]
async fn attempts_count_every_claim_that_did_not_finish() {
    for b in backends().await {
        let s = b.store.as_ref();
        queued(s, 1, NOW).await;
        for attempt in 1..=4u32 {
            let at = NOW + i64::from(attempt) * 10_000;
            // Each claimer dies: its lease runs out before the next claim.
            let job = claim(s, &format!("w{attempt}"), at, at + 5_000).await.expect("claimable again");
            assert_eq!(job.attempts, attempt, "{}", b.name);
        }
        // A restart of the only process (SQLite) re-queues the job at once; the attempt stays.
        if !b.shared_by_many_processes {
            let reopened = (b.reopen)().await;
            assert_eq!(reopened.recover_at_startup().await.unwrap(), 1);
            let job = claim(reopened.as_ref(), "w5", NOW + 41_000, NOW + 90_000).await.unwrap();
            assert_eq!(job.attempts, 5, "{}", b.name);
        }
    }
}
