// Placeholder.
public enum EmptcpApplyPlaceholder {}
