package html

import (
	_ "embed"
	"regexp"
	"strings"
)

// echartsJS is ECharts 5.6.0 (dist/echarts.min.js from the npm package "echarts", pinned in
// the repository's package.json and package-lock.json), the version go-echarts v2.6.7
// targets. It is third-party code and is not committed: run `make assets` (which `make
// build` and `make test` do first) to install it from npm and copy it here.
//
// A build that fails with "pattern assets/echarts.min.js: no matching files found" means
// exactly that: run `make assets`.
//
//go:embed assets/echarts.min.js
var echartsJS string

// EChartsVersion is the ECharts release the report embeds.
const EChartsVersion = "5.6.0"

// inlineScript returns JavaScript safe to place between <script> and </script>. The HTML
// parser ends the element at "</script", and "<!--" or "<script" can switch it into its
// escaped states, so "</" becomes "<\/" and "<!--" and "<script" start with "\x3C"
// instead. Both are the same characters inside JavaScript string literals, regular
// expressions and template strings, the only places where such text can occur.
func inlineScript(js string) string {
	if !strings.Contains(js, "</") && !strings.Contains(js, "<!--") && !scriptTagRE.MatchString(js) {
		return js
	}
	js = strings.ReplaceAll(js, "</", `<\/`)
	js = strings.ReplaceAll(js, "<!--", `\x3C!--`)
	return scriptTagRE.ReplaceAllString(js, `\x3C$1`)
}

var scriptTagRE = regexp.MustCompile(`(?i)<(script)`)
