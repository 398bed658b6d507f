package portal

// reportRoutes registers the security alerts and recommendations pages and their CSV reports.
func (p *Portal) reportRoutes() {}
