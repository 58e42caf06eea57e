//! Black-box: `GET /v1/uploads`, intake's listing extension, through the SDK's
//! `list_uploads`: newest first, a full pagination walk, filters by status and kind, another
//! project's uploads invisible, and every bad parameter answered 400 with its name. Also
//! `GET /v1/projects`, the projects a key may list (more in `projects_and_keys.rs`).

use crate::common;

use common::{assert_error, media, send, TestServer, PROJECT_A};
use intake_client::{Client, Kind, ListUploadsOptions, Status, Upload};
use reqwest::Method;
use serde_json::json;

/// Every upload the options select, walking all pages; also returns each page's size.
async fn walk(client: &Client, mut options: ListUploadsOptions) -> (Vec<Upload>, Vec<usize>) {
    let (mut all, mut sizes) = (Vec::new(), Vec::new());
    loop {
        let page = client.list_uploads(&options).await.unwrap();
        sizes.push(page.uploads.len());
        all.extend(page.uploads);
        match page.next_pagination_token {
            Some(token) => options.pagination_token = Some(token),
            None => return (all, sizes),
        }
        assert!(sizes.len() < 100, "the walk does not end");
    }
}

fn ids(uploads: &[Upload]) -> Vec<String> {
    uploads.iter().map(|u| u.id.clone()).collect()
}

#[tokio::test]
async fn pages_walk_every_upload_newest_first_and_filters_select() {
    let server = TestServer::start_manual(|_| {}).await;
    let png = media::png(8, 8);
    // 7 pending images and 5 pending texts, created in this order (several in the same
    // millisecond, so the id must break ties).
    let mut created = Vec::new();
    for i in 0..12 {
        let (name, kind) = if i % 5 == 4 { (format!("n{i}.txt"), "text") } else { (format!("p{i}.png"), "image") };
        let upload = server.create_ok(&name, "application/octet-stream", 10, 1, kind).await;
        created.push(upload["id"].as_str().unwrap().to_string());
    }
    // One imported image and one failed image, made last.
    let imported = server.upload_and_wait("ok.png", "image/png", &png, "image").await;
    assert_eq!(imported["status"], "imported", "{imported}");
    let failed = server.upload_and_wait("junk.png", "image/png", b"this is no picture", "image").await;
    assert_eq!(failed["status"], "failed", "{failed}");
    created.push(imported["id"].as_str().unwrap().to_string());
    created.push(failed["id"].as_str().unwrap().to_string());

    // Pages of 5: 14 uploads in pages 5, 5, 4, newest first, no repeats, none missing.
    let (all, sizes) = walk(&server.client, ListUploadsOptions { page_size: Some(5), ..Default::default() }).await;
    assert_eq!(sizes, vec![5, 5, 4]);
    let mut newest_first = created.clone();
    newest_first.reverse();
    let listed = ids(&all);
    let mut by_time: Vec<(String, String)> = all.iter().map(|u| (u.created_at.clone(), u.id.clone())).collect();
    by_time.sort_by(|a, b| b.cmp(a));
    assert_eq!(listed, by_time.into_iter().map(|(_, id)| id).collect::<Vec<_>>(), "ordered by (createdAt, id) desc");
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    let mut sorted_created = created.clone();
    sorted_created.sort();
    assert_eq!(sorted_listed, sorted_created, "every upload exactly once");
    assert_eq!(listed[0], newest_first[0], "the newest comes first");
    assert!(all.iter().all(|u| u.parts.is_none()), "a listing carries no part URLs");
    assert!(all.iter().all(|u| u.owner_id == PROJECT_A));

    // The default page is 20: everything fits, and there is no next token.
    let page = server.client.list_uploads(&ListUploadsOptions::default()).await.unwrap();
    assert_eq!((page.uploads.len(), page.next_pagination_token), (14, None));

    // Filters, alone and together, also across pages.
    let texts =
        walk(&server.client, ListUploadsOptions { kind: Some(Kind::Text), page_size: Some(2), ..Default::default() })
            .await
            .0;
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|u| u.kind == Kind::Text));
    let failures =
        walk(&server.client, ListUploadsOptions { status: Some(Status::Failed), ..Default::default() }).await.0;
    assert_eq!(ids(&failures), vec![failed["id"].as_str().unwrap().to_string()]);
    assert!(failures[0].error_message.as_deref().unwrap_or("").contains("refused"), "{:?}", failures[0]);
    let pending_images = walk(
        &server.client,
        ListUploadsOptions {
            status: Some(Status::Pending),
            kind: Some(Kind::Image),
            page_size: Some(3),
            ..Default::default()
        },
    )
    .await
    .0;
    assert_eq!(pending_images.len(), 10);
    assert!(pending_images.iter().all(|u| u.kind == Kind::Image && u.status == Status::Pending));
    let imported_images = server
        .client
        .list_uploads(&ListUploadsOptions { status: Some(Status::Imported), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(imported_images.uploads.len(), 1);
    assert_eq!(imported_images.uploads[0].entity_id.as_deref(), imported["entityId"].as_str());
    let none = server
        .client
        .list_uploads(&ListUploadsOptions { kind: Some(Kind::Video), ..Default::default() })
        .await
        .unwrap();
    assert!(none.uploads.is_empty() && none.next_pagination_token.is_none());

    // An upload made after a page was read does not shift the next page.
    let first =
        server.client.list_uploads(&ListUploadsOptions { page_size: Some(5), ..Default::default() }).await.unwrap();
    server.create_ok("late.png", "image/png", 10, 1, "image").await;
    let second = server
        .client
        .list_uploads(&ListUploadsOptions {
            page_size: Some(5),
            pagination_token: first.next_pagination_token,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&second.uploads), listed[5..10].to_vec());
}

#[tokio::test]
async fn another_projects_uploads_are_invisible() {
    let server = TestServer::start().await;
    let mine = server.create_ok("a.png", "image/png", 10, 1, "image").await;
    // bob (project B) makes two uploads; alice sees only her own, in either of her projects.
    for name in ["b1.png", "b2.png"] {
        let (status, body) =
            send(server.bob(Method::POST, "/v1/uploads").json(
                &json!({"fileName": name, "contentType": "image/png", "fileSize": 10, "parts": 1, "kind": "image"}),
            ))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let alice = server.client.list_uploads(&ListUploadsOptions::default()).await.unwrap();
    assert_eq!(ids(&alice.uploads), vec![mine["id"].as_str().unwrap().to_string()]);
    // The projects a key may pick from (the page's project picker), its default first.
    assert_eq!(server.client.list_projects().await.unwrap(), vec![PROJECT_A, "proj_shared"]);
    let (status, body) = send(server.bob(Method::GET, "/v1/projects")).await;
    assert_eq!(status, 200, "{body}");
    let projects = body["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1, "{body}");
    assert_eq!(projects[0]["id"], "proj_b");
    // An INTAKE_API_KEYS key is an admin of its projects: it sees the project's keys, its own.
    assert_eq!(projects[0]["keys"][0]["apiKeyId"], "bob", "{body}");
    assert_eq!(projects[0]["keys"][0]["role"], "admin", "{body}");
    assert!(body.get("nextPaginationToken").is_none(), "{body}");
    let shared = server.client.with_project(Some("proj_shared".into()));
    assert!(shared.list_uploads(&ListUploadsOptions::default()).await.unwrap().uploads.is_empty());

    let (status, body) = send(server.bob(Method::GET, "/v1/uploads")).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> =
        body["uploads"].as_array().unwrap().iter().map(|u| u["fileName"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["b2.png", "b1.png"]);

    // A project the key may not use, and no credentials at all, are refused as for any call.
    let (status, body) = send(server.bob(Method::GET, "/v1/uploads?projectId=proj_a")).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(server.http.get(server.url("/v1/uploads"))).await;
    assert_eq!(status, 401);

    // A page token only marks a position: used by alice, one from bob's listing still
    // walks alice's project alone.
    let (_, bob_page) = send(server.bob(Method::GET, "/v1/uploads?pageSize=1")).await;
    let token = bob_page["nextPaginationToken"].as_str().expect("bob has a second page").to_string();
    let options = ListUploadsOptions { pagination_token: Some(token), ..Default::default() };
    let alice = server.client.list_uploads(&options).await.unwrap();
    assert_eq!(ids(&alice.uploads), vec![mine["id"].as_str().unwrap().to_string()]);
}

#[tokio::test]
async fn bad_parameters_are_400_with_the_parameter_named() {
    let server = TestServer::start().await;
    for (query, needle) in [
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=ten", "pageSize"),
        ("pageSize=-1", "pageSize"),
        ("status=done", "status must be one of"),
        ("kind=picture", "kind must be one of"),
        ("paginationToken=", "paginationToken"),
        ("paginationToken=not-a-token", "paginationToken"),
        ("paginationToken=bm90IGEgdG9rZW4", "paginationToken"),
    ] {
        let (status, body) = send(server.alice(Method::GET, &format!("/v1/uploads?{query}"))).await;
        assert_error(status, &body, 400, needle);
    }
    // The SDK carries the server's reason.
    let err = server.client.list_uploads(&ListUploadsOptions { page_size: Some(500), ..Default::default() }).await;
    match err {
        Err(intake_client::Error::Api(api)) => {
            assert_eq!(api.status, 400);
            assert!(api.reason.contains("pageSize"), "{}", api.reason);
        }
        other => panic!("expected a 400, got {other:?}"),
    }
}
