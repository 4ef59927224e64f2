package cybervault

import (
	"context"
	"encoding/json"
)

// Page is one page of a list (newest first).
type Page struct {
	Object  string   `json:"object"`
	URL     string   `json:"url"`
	HasMore bool     `json:"has_more"`
	Data    []Object `json:"data"`
}

// GetPage fetches one page of any list endpoint.
func (c *Client) GetPage(ctx context.Context, path string, query Params) (*Page, error) {
	resp, err := c.Do(ctx, &Request{Method: "GET", Path: path, Query: query})
	if err != nil {
		return nil, err
	}
	page := &Page{Object: "list", URL: path}
	body := resp.Object()
	if s, ok := body["object"].(string); ok {
		page.Object = s
	}
	if s, ok := body["url"].(string); ok {
		page.URL = s
	}
	page.HasMore, _ = body["has_more"].(bool)
	items, _ := body["data"].([]any)
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			page.Data = append(page.Data, Object(m))
		}
	}
	return page, nil
}

// Iter walks every object of a list, fetching each page when the previous one is used up:
//
//	it := client.Assets.List(ctx, cybervault.Params{"limit": 100})
//	for it.Next() {
//		asset := it.Current()
//	}
//	if err := it.Err(); err != nil { … }
//
// It follows starting_after (older objects), or ending_before (newer objects) when the query started with it.
type Iter struct {
	ctx    context.Context
	client *Client
	path   string
	query  Params
	page   *Page
	index  int
	pages  int
	cur    Object
	err    error
	done   bool
}

func newIter(ctx context.Context, c *Client, path string, query Params) *Iter {
	q := Params{}
	for k, v := range query {
		if v != nil {
			q[k] = v
		}
	}
	return &Iter{ctx: ctx, client: c, path: path, query: q}
}

// List walks any list endpoint (for routes newer than this SDK).
func (c *Client) List(ctx context.Context, path string, query Params) *Iter {
	return newIter(ctx, c, path, query)
}

// Next advances to the next object, fetching the next page when needed; false at the end or on error.
func (it *Iter) Next() bool {
	for !it.done && it.err == nil {
		if it.page != nil && it.index < len(it.page.Data) {
			it.cur = it.page.Data[it.index]
			it.index++
			return true
		}
		if it.page != nil && (!it.page.HasMore || len(it.page.Data) == 0) {
			it.done = true
			break
		}
		if it.page != nil {
			it.advanceCursor()
		}
		page, err := it.client.GetPage(it.ctx, it.path, it.query)
		if err != nil {
			it.err = err
			break
		}
		it.page, it.index = page, 0
		it.pages++
	}
	it.cur = nil
	return false
}

func (it *Iter) advanceCursor() {
	next := Params{}
	for k, v := range it.query {
		next[k] = v
	}
	if v, ok := next["ending_before"]; ok && v != nil && v != "" {
		next["ending_before"] = it.page.Data[0].ID()
	} else {
		delete(next, "ending_before")
		next["starting_after"] = it.page.Data[len(it.page.Data)-1].ID()
	}
	it.query = next
}

// Current is the object Next moved to.
func (it *Iter) Current() Object { return it.cur }

// Err is the error that stopped the walk, if any.
func (it *Iter) Err() error { return it.err }

// Page is the page the current object came from.
func (it *Iter) Page() *Page { return it.page }

// PagesFetched counts the requests made so far.
func (it *Iter) PagesFetched() int { return it.pages }

// All collects every remaining object (at most max when max > 0).
func (it *Iter) All(max int) ([]Object, error) {
	var out []Object
	for (max <= 0 || len(out) < max) && it.Next() {
		out = append(out, it.Current())
	}
	return out, it.Err()
}

// Decode is a helper for typed lists: it decodes the current object into target.
func (it *Iter) Decode(target any) error {
	raw, err := json.Marshal(map[string]any(it.cur))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, target)
}
