package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// writeJSON answers with v as JSON.
func writeJSON(ex Exchange, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	ex.SetHeader("Content-Type", "application/json")
	ex.Write(status, b)
}

// noStore keeps responses that carry tokens or personal data out of every cache
// (RFC 6749 §5.1).
func noStore(ex Exchange) {
	ex.SetHeader("Cache-Control", "no-store")
	ex.SetHeader("Pragma", "no-cache")
}

// writeTokens answers with the token response of RFC 6749 §5.1, plus "result": true,
// which the clients of the tutorial gatehouse grew out of look for.
func writeTokens(ex Exchange, t *Tokens) {
	noStore(ex)
	writeJSON(ex, http.StatusOK, struct {
		*Tokens
		Result bool `json:"result"`
	}{t, true})
}

// writeResult answers {"result": true}, with the members of extra.
func writeResult(ex Exchange, extra map[string]any) {
	m := map[string]any{"result": true}
	for k, v := range extra {
		m[k] = v
	}
	noStore(ex)
	writeJSON(ex, http.StatusOK, m)
}

// params are the parameters of a POST body.
type params struct {
	values map[string]string
	form   bool // form-encoded (RFC 6749 rules apply), not JSON or empty
}

// readParams reads a body of at most maxBody bytes, form-encoded
// (application/x-www-form-urlencoded) or a JSON object of strings. An empty body has no
// parameters whatever its type. A parameter given twice is refused (RFC 6749 §3.2).
func readParams(ex Exchange) (params, error) {
	body, err := ex.Body(maxBody)
	if err != nil {
		return params{}, ErrBodyTooLarge
	}
	p := params{values: map[string]string{}}
	if len(body) == 0 {
		return p, nil
	}
	mt, _, _ := mime.ParseMediaType(ex.Header("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		p.form = true
		vs, err := url.ParseQuery(string(body))
		if err != nil {
			return p, fmt.Errorf("%w: malformed form body", ErrInvalidRequest)
		}
		for k, v := range vs {
			if len(v) != 1 {
				return p, fmt.Errorf("%w: parameter %.32q repeated", ErrInvalidRequest, k)
			}
			p.values[k] = v[0]
		}
	case "application/json":
		m, err := jsonObject(body)
		if err != nil {
			return p, err
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				p.values[k] = s
			} else if k == "grant_type" || k == "refresh_token" || k == "token" {
				return p, fmt.Errorf("%w: %s must be a string", ErrInvalidRequest, k)
			}
		}
	default:
		return p, fmt.Errorf("%w: body must be form-encoded or JSON", ErrInvalidRequest)
	}
	return p, nil
}

// jsonObject decodes a JSON object body member by member. A name given twice is refused,
// as the form path refuses a repeated parameter: encoding/json would keep the last one,
// and a proxy or logger in front may have looked at the first.
func jsonObject(body []byte) (map[string]json.RawMessage, error) {
	malformed := fmt.Errorf("%w: malformed JSON body", ErrInvalidRequest)
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, malformed
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("%w: JSON member %.32q repeated", ErrInvalidRequest, name)
		}
		m[name] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, malformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, malformed
	}
	return m, nil
}
