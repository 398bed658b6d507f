package portal

// summaryRoutes registers the secure score and regulatory compliance summaries.
func (p *Portal) summaryRoutes() {}
