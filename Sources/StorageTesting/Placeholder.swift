public enum StorageTestingPlaceholder {}
