/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"

struct http_client {
	CURL *curl;
	char *socket_path;
	/* libcurl's words for the last failure, or ours. */
	char error[CURL_ERROR_SIZE];
	/* errno of the last failed connect(). */
	int os_errno;
};

/* The state of one exchange, shared with libcurl's callbacks. */
struct transfer {
	struct http_client *client;
	const struct http_request *request;
	/* The body kept in memory, NUL-terminated once there is one. */
	char *body;
	size_t body_length;
	size_t body_capacity;
	bool body_too_large;
	bool sink_failed;
};

struct http_client *http_client__new(const char *socket_path)
{
	struct http_client *client;

	/* libcurl wants this once per program before any handle; it counts the calls. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = ENOMEM;
		return NULL;
	}
	client = calloc(1, sizeof(*client));
	if (!client)
		goto err;
	client->socket_path = strdup(socket_path);
	if (!client->socket_path)
		goto err_client;
	client->curl = curl_easy_init();
	if (!client->curl)
		goto err_path;
	return client;
err_path:
	free(client->socket_path);
err_client:
	free(client);
err:
	curl_global_cleanup();
	errno = ENOMEM;
	return NULL;
}

void http_client__free(struct http_client *client)
{
	if (!client)
		return;
	curl_easy_cleanup(client->curl);
	free(client->socket_path);
	free(client);
	curl_global_cleanup();
}

const char *http_client__error(const struct http_client *client)
{
	return client->error;
}

int http_client__os_errno(const struct http_client *client)
{
	return client->os_errno;
}

void http_response__fini(struct http_response *response)
{
	free(response->body);
	response->body = NULL;
	response->body_length = 0;
}

static int keep_body(struct transfer *transfer, const char *data, size_t length)
{
	size_t needed = transfer->body_length + length + 1, capacity;
	char *body;

	if (needed > HTTP_MAX_BODY_BYTES + 1) {
		transfer->body_too_large = true;
		return -EMSGSIZE;
	}
	if (needed > transfer->body_capacity) {
		capacity = transfer->body_capacity ? transfer->body_capacity : 4096;
		while (capacity < needed)
			capacity *= 2;
		body = realloc(transfer->body, capacity);
		if (!body)
			return -ENOMEM;
		transfer->body = body;
		transfer->body_capacity = capacity;
	}
	memcpy(transfer->body + transfer->body_length, data, length);
	transfer->body_length += length;
	transfer->body[transfer->body_length] = '\0';
	return 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *context)
{
	struct transfer *transfer = context;
	const struct http_request *request = transfer->request;
	size_t length = size * count;
	long status = 0;

	if (length == 0)
		return 0;
	curl_easy_getinfo(transfer->client->curl, CURLINFO_RESPONSE_CODE, &status);
	if (request->sink && status >= 200 && status <= 299) {
		if (request->sink(request->sink_context, data, length) < 0) {
			transfer->sink_failed = true;
			return 0;
		}
		return length;
	}
	/* Returning less than length makes libcurl abort with CURLE_WRITE_ERROR. */
	return keep_body(transfer, data, length) < 0 ? 0 : length;
}

static size_t on_header(char *data, size_t size, size_t count, void *context)
{
	struct transfer *transfer = context;
	const struct http_request *request = transfer->request;
	size_t length = size * count, name_length, i;
	const char *colon, *value, *end = data + length;

	/* A new status line (after a 1xx) starts a new set of headers. */
	if (length >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		for (i = 0; i < request->header_count; i++)
			request->headers[i].present = false;
		return length;
	}
	colon = memchr(data, ':', length);
	if (!colon)
		return length;
	name_length = colon - data;
	value = colon + 1;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value &&
	       (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; i < request->header_count; i++) {
		struct http_header *header = &request->headers[i];

		if (strlen(header->name) != name_length ||
		    strncasecmp(header->name, data, name_length) != 0)
			continue;
		header->present = true;
		if ((size_t)(end - value) < sizeof(header->value)) {
			memcpy(header->value, value, end - value);
			header->value[end - value] = '\0';
		} else {
			header->value[0] = '\0';
		}
	}
	return length;
}

static int on_progress(void *context, curl_off_t download_total, curl_off_t downloaded,
		       curl_off_t upload_total, curl_off_t uploaded)
{
	const struct transfer *transfer = context;

	/* Non-zero makes libcurl abort with CURLE_ABORTED_BY_CALLBACK. */
	return transfer->request->cancel && *transfer->request->cancel;
}

static int set_options(struct http_client *client, const struct http_request *request,
		       struct transfer *transfer, const char *url, struct curl_slist *headers)
{
	CURL *curl = client->curl;

	curl_easy_reset(curl);
	if (curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, client->socket_path) != CURLE_OK ||
	    /* The socket is the only way to cprofd; a proxy from the environment is not. */
	    curl_easy_setopt(curl, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, client->error) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)HTTP_CONNECT_TIMEOUT_SECONDS) !=
		    CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_TIMEOUT, request->timeout_seconds) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_WRITEDATA, transfer) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_HEADERDATA, transfer) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, transfer) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) != CURLE_OK)
		return -ENOMEM;

	if (strcmp(request->method, "POST") == 0) {
		if (curl_easy_setopt(curl, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "") != CURLE_OK ||
		    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L) != CURLE_OK)
			return -ENOMEM;
	} else if (strcmp(request->method, "GET") != 0) {
		if (curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method) != CURLE_OK)
			return -ENOMEM;
	}
	return 0;
}

/* Turn libcurl's result into this module's errno and words. */
static int transfer_error(struct http_client *client, const struct transfer *transfer,
			  CURLcode code)
{
	long os_errno = 0;

	if (!client->error[0])
		snprintf(client->error, sizeof(client->error), "%s", curl_easy_strerror(code));
	switch (code) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(client->curl, CURLINFO_OS_ERRNO, &os_errno);
		client->os_errno = os_errno;
		if (os_errno)
			snprintf(client->error, sizeof(client->error), "%s", strerror(os_errno));
		return -ENOTCONN;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_WRITE_ERROR:
		if (transfer->sink_failed)
			return -ECANCELED;
		if (transfer->body_too_large)
			return -EMSGSIZE;
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK:
		return -EINTR;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EPROTO;
	}
}

int http_client__request(struct http_client *client, const struct http_request *request,
			 struct http_response *ret_response)
{
	struct transfer transfer = { .client = client, .request = request };
	struct curl_slist *headers = NULL, *appended;
	char *url = NULL;
	long status = 0;
	CURLcode code;
	int ret;

	client->error[0] = '\0';
	client->os_errno = 0;
	/* The host is a formality on a Unix socket, but HTTP/1.1 requires one. */
	if (asprintf(&url, "http://localhost%s", request->target) < 0) {
		url = NULL;
		ret = -ENOMEM;
		goto out;
	}
	/* libcurl would otherwise label the empty POST as a form. */
	appended = curl_slist_append(headers, "Content-Type:");
	if (!appended) {
		ret = -ENOMEM;
		goto out;
	}
	headers = appended;
	ret = set_options(client, request, &transfer, url, headers);
	if (ret < 0) {
		snprintf(client->error, sizeof(client->error), "cannot set up libcurl");
		goto out;
	}
	code = curl_easy_perform(client->curl);
	if (code != CURLE_OK) {
		ret = transfer_error(client, &transfer, code);
		goto out;
	}
	curl_easy_getinfo(client->curl, CURLINFO_RESPONSE_CODE, &status);
	ret_response->status = status;
	ret_response->body = transfer.body;
	ret_response->body_length = transfer.body_length;
	transfer.body = NULL;
	ret = 0;
out:
	/* The handle keeps pointers to these until the next reset. */
	curl_easy_reset(client->curl);
	free(transfer.body);
	curl_slist_free_all(headers);
	free(url);
	return ret;
}
