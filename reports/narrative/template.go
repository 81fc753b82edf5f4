package narrative

import "strings"

// noFacts is the template narrative of a section with nothing to report.
const noFacts = "No figures are available for this section yet."

// TemplateText returns the deterministic narrative of facts, used whenever the LLM's is
// not: one sentence per fact, "Label: value.", in the facts' order, with values as
// Fact.Value writes them. It is built from the facts alone, never leaves the process (so
// it is not masked), and always passes Check against its own facts.
func TemplateText(facts Facts) string {
	if len(facts.Items) == 0 {
		return noFacts
	}
	parts := make([]string, 0, len(facts.Items))
	for _, f := range facts.Items {
		label := oneLine(f.Label)
		if label == "" {
			label = f.Key
		}
		v := oneLine(f.Value())
		if v == "" {
			v = "n/a"
		}
		parts = append(parts, capitalize(label)+": "+strings.TrimRight(v, ".")+".")
	}
	return strings.Join(parts, " ")
}

// capitalize upper-cases the first letter of s if it is an ASCII letter, leaving names and
// codes such as "eBay" alone otherwise.
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' && !(len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z') {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
