package portal

// healthRoutes registers the delivery health page.
func (p *Portal) healthRoutes() {}
