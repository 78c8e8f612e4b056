import './base.css';
import './sidebar.css';
import './preview.css';
