package portal

// exportRoutes registers the continuous export page of a subscription.
func (p *Portal) exportRoutes() {}
