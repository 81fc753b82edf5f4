package narrative

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"text/template"
)

// PromptVersion names the prompt template. Change it whenever PromptTemplate changes in a
// way that changes what the model is asked; PromptSHA256 changes with any edit at all.
const PromptVersion = "narrative/v1"

// Report sections with their own guidance in the prompt. Any other section key works too,
// with the generic guidance.
const (
	SectionHeadline        = "headline"         // forecast vs target, P10/P50/P90, change since last run
	SectionForecast        = "forecast"         // the forecast by period
	SectionPipelineChanges = "pipeline_changes" // the waterfall between two runs
	SectionAtRisk          = "at_risk_deals"    // deals at risk and their factors
	SectionSupply          = "supply_risks"     // deals that cannot ship in period
	SectionCredit          = "credit"           // credit alerts and AR aging
	SectionCollections     = "collections"      // the collections forecast
	SectionRenewals        = "renewals"         // renewals at risk
	SectionReconciliation  = "reconciliation"   // CRM vs ERP variances
	SectionOrders          = "order_status"     // order status changes needing review
	SectionAccuracy        = "model_accuracy"   // backtest and calibration
)

// PromptTemplate is the whole prompt (text/template): the system message, the user
// message and the per-section guidance. PromptSHA256 is the hash of exactly this text, so
// a stored narrative can be traced to the words its model was given.
const PromptTemplate = `{{define "system"}}You write one paragraph of a revenue-operations report for RevOps and sales leadership.
Rules:
1. Write two to four plain sentences: no heading, no list, no markdown, no preamble.
2. Use only the figures listed under Facts, written exactly as they are listed there (the full form or the short form).
3. Do not calculate: no sums, differences, averages, ratios, growth rates or counts that are not listed.
4. State no other number, percentage, amount, quantity or date, not even an approximate one.
5. PERSON_1, EMAIL_1, PHONE_1 and similar words stand for people and their contact details. Copy them exactly as written when you mention them; never invent new ones.
6. If the facts do not say why something happened, do not guess.{{end}}

{{define "user"}}Section: {{.Title}}
{{template "guidance" .Section}}

Facts:
{{range .Lines}}- {{.}}
{{end}}
Write the paragraph.{{end}}

{{define "guidance"}}{{if eq . "headline"}}Lead with the forecast against the target, then the range, then the change since the last run.
{{- else if eq . "forecast"}}Say how the forecast is spread over the periods and where the uncertainty is widest.
{{- else if eq . "pipeline_changes"}}Say what moved the pipeline since the last run, largest movement first.
{{- else if eq . "at_risk_deals"}}Name the largest deals at risk and the factors behind each.
{{- else if eq . "supply_risks"}}Say which deals may not ship in period and what supply is short.
{{- else if eq . "credit"}}Say which customers carry credit risk and how overdue receivables are.
{{- else if eq . "collections"}}Say how much cash is expected and when, and what is overdue.
{{- else if eq . "renewals"}}Say which renewals are at risk and why.
{{- else if eq . "reconciliation"}}Say which differences between CRM and ERP matter most and what kind they are.
{{- else if eq . "order_status"}}Say which order status changes need review.
{{- else if eq . "model_accuracy"}}Say how accurate and how well calibrated the forecast has been.
{{- else}}Summarise what the figures show, most important first.{{end}}{{end}}`

var promptTmpl = template.Must(template.New("narrative").Parse(PromptTemplate))

var promptSHA256 = func() string {
	h := sha256.Sum256([]byte(PromptTemplate))
	return hex.EncodeToString(h[:])
}()

// PromptSHA256 returns the hex SHA-256 of the prompt template text, recorded with every
// narrative next to PromptVersion.
func PromptSHA256() string { return promptSHA256 }

var sectionTitles = map[string]string{
	SectionHeadline:        "Headline forecast",
	SectionForecast:        "Forecast by period",
	SectionPipelineChanges: "Pipeline changes since the last run",
	SectionAtRisk:          "Deals at risk",
	SectionSupply:          "Supply risks",
	SectionCredit:          "Credit alerts and receivables aging",
	SectionCollections:     "Collections forecast",
	SectionRenewals:        "Renewals at risk",
	SectionReconciliation:  "Reconciliation variances",
	SectionOrders:          "Order status changes to review",
	SectionAccuracy:        "Model accuracy",
}

// SectionTitle returns the human title of a section key, or the key itself when unknown.
func SectionTitle(section string) string {
	if t, ok := sectionTitles[section]; ok {
		return t
	}
	return section
}

// Prompt is what is sent to the model for one section, already masked.
type Prompt struct {
	System string
	User   string
}

// BuildPrompt renders the prompt for facts, passing every label and value through m so
// that no name, e-mail or phone number is in it.
func BuildPrompt(facts Facts, m *Masker) (Prompt, error) {
	data := struct {
		Section, Title string
		Lines          []string
	}{Section: facts.Section, Title: SectionTitle(facts.Section)}
	for _, f := range facts.Items {
		data.Lines = append(data.Lines, m.Mask(oneLine(f.Label)+": "+oneLine(f.promptValue())))
	}
	var sys, user strings.Builder
	if err := promptTmpl.ExecuteTemplate(&sys, "system", data); err != nil {
		return Prompt{}, err
	}
	if err := promptTmpl.ExecuteTemplate(&user, "user", data); err != nil {
		return Prompt{}, err
	}
	return Prompt{System: sys.String(), User: user.String()}, nil
}

// oneLine keeps a fact on its line of the prompt.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
